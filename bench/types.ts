// One benchmark figure, as written to bench/results.json so runs can be compared across changes.
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  lowerIsBetter: boolean;
  detail?: Record<string, unknown>;
}
