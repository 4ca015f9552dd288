// Versioned schema migrations, applied in order at start. Never edit a shipped migration: add a new one.
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: "initial schema",
    sql: `
      CREATE TABLE users (
        telegram_id INTEGER PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('owner', 'user')),
        display_name TEXT,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('torrent', 'playbook')),
        owner_id INTEGER NOT NULL,
        chat_id INTEGER NOT NULL,
        state TEXT NOT NULL,
        input TEXT NOT NULL,            -- JSON: what the user asked for
        data TEXT NOT NULL DEFAULT '{}', -- JSON: what the job has learned (names, sizes, message ids)
        error TEXT,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE INDEX jobs_owner ON jobs (owner_id, created_at DESC);
      CREATE INDEX jobs_state ON jobs (state);
      CREATE TABLE job_events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id INTEGER NOT NULL REFERENCES jobs (id),
        at INTEGER NOT NULL,
        state TEXT NOT NULL,
        detail TEXT
      );
      CREATE INDEX job_events_job ON job_events (job_id, id);
      CREATE TABLE droplets (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id INTEGER REFERENCES jobs (id),
        do_id INTEGER UNIQUE,           -- NULL until the create call answered
        name TEXT NOT NULL,
        tag TEXT NOT NULL,
        region TEXT NOT NULL,
        size TEXT NOT NULL,
        price_hourly REAL NOT NULL,
        ip TEXT,
        host_key_public TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('requested', 'created', 'active', 'destroying', 'destroyed', 'failed')),
        requested_at INTEGER NOT NULL,
        created_at INTEGER,
        destroyed_at INTEGER
      );
      CREATE INDEX droplets_state ON droplets (state);
      CREATE TABLE hosts (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL UNIQUE,
        address TEXT NOT NULL,
        port INTEGER NOT NULL DEFAULT 22,
        username TEXT NOT NULL,
        host_key TEXT,                  -- pinned on first use (base64 of the key blob)
        added_by INTEGER,
        created_at INTEGER NOT NULL
      );
      CREATE TABLE venvs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        host TEXT NOT NULL,
        name TEXT NOT NULL,
        path TEXT NOT NULL,
        spec TEXT NOT NULL,             -- JSON of the normalised VenvSpec
        status TEXT NOT NULL CHECK (status IN ('building', 'ready', 'broken', 'removed')),
        pinned INTEGER NOT NULL DEFAULT 0,
        in_use INTEGER NOT NULL DEFAULT 0,
        size_bytes INTEGER,
        build_ms INTEGER,
        created_at INTEGER NOT NULL,
        last_used_at INTEGER NOT NULL,
        UNIQUE (host, name)
      );
      CREATE TABLE locks (
        name TEXT PRIMARY KEY,
        holder TEXT NOT NULL,
        acquired_at INTEGER NOT NULL
      );
      CREATE TABLE spend (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id INTEGER REFERENCES jobs (id),
        user_id INTEGER NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('estimate', 'actual')),
        usd REAL NOT NULL,
        detail TEXT,
        at INTEGER NOT NULL
      );
      CREATE INDEX spend_user_at ON spend (user_id, at);
      CREATE TABLE kv (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: "per-user choice of receiving files as Telegram documents",
    // NULL means "as SEND_FILES_TO_TELEGRAM says"; 0/1 is the user's own choice (/files off|on).
    sql: "ALTER TABLE users ADD COLUMN send_files INTEGER CHECK (send_files IN (0, 1));",
  },
  {
    version: 3,
    name: "hosts belong to people: an owner per host, and the users it is shared with",
    // Hosts added before this were added by the bot's owner (only they could), so the adder becomes the owner;
    // a NULL owner_id (no adder recorded) counts as the bot owner's. Shares go with their host.
    sql: `
      ALTER TABLE hosts ADD COLUMN owner_id INTEGER;
      UPDATE hosts SET owner_id = added_by;
      CREATE TABLE host_shares (
        host_id INTEGER NOT NULL REFERENCES hosts (id) ON DELETE CASCADE,
        user_id INTEGER NOT NULL,
        shared_by INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (host_id, user_id)
      );
    `,
  },
  {
    version: 4,
    name: "venv content digest",
    // JSON {total, areas}: what the venv held when it was built; a reuse compares the venv against it.
    sql: "ALTER TABLE venvs ADD COLUMN content_digest TEXT;",
  },
  {
    version: 5,
    name: "per-user choices about choosing a torrent's files",
    // NULL means the default (ask; download all when the picker times out); otherwise the user's choice on /settings.
    sql: `
      ALTER TABLE users ADD COLUMN after_metadata TEXT CHECK (after_metadata IN ('ask', 'all'));
      ALTER TABLE users ADD COLUMN picker_timeout TEXT CHECK (picker_timeout IN ('all', 'cancel'));
    `,
  },
  {
    version: 6,
    name: "block storage volumes, recorded like droplets before they are created",
    // do_id is DigitalOcean's volume id (a UUID), NULL until the create answered; the cost runs created_at → deleted_at.
    sql: `
      CREATE TABLE volumes (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id INTEGER REFERENCES jobs (id),
        do_id TEXT UNIQUE,
        name TEXT NOT NULL,
        tag TEXT NOT NULL,
        region TEXT NOT NULL,
        size_gib INTEGER NOT NULL,
        price_hourly REAL NOT NULL,
        droplet_do_id INTEGER,
        state TEXT NOT NULL CHECK (state IN ('requested', 'created', 'attached', 'deleting', 'deleted', 'failed')),
        requested_at INTEGER NOT NULL,
        created_at INTEGER,
        deleted_at INTEGER
      );
      CREATE INDEX volumes_state ON volumes (state);
      CREATE INDEX volumes_job ON volumes (job_id);
    `,
  },
  {
    version: 7,
    name: "per-user default seeding policy",
    // seeding-policy.ts's code ("n", "r1.0", "t30"); NULL means the default, no seeding.
    sql: "ALTER TABLE users ADD COLUMN seed_policy TEXT;",
  },
];
