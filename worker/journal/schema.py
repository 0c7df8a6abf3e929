"""The journal's schema as migrations from version i to i + 1; SQL text only."""

from __future__ import annotations

SCHEMA_VERSION = 5

# Each entry migrates from version i to i+1; the journal records the version it reached.
_MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE requests (
        protocol        TEXT PRIMARY KEY,
        seq             INTEGER NOT NULL UNIQUE,
        fingerprint     TEXT NOT NULL,
        submitted       TEXT,            -- ISO; NULL when the timestamp cell was not a date
        ts_key          TEXT,            -- the timestamp cell as read, JSON (identity after a sort)
        received_at     TEXT NOT NULL,   -- when balcao took the row in
        deadline        TEXT,
        status          TEXT NOT NULL,   -- the `Situação` value
        reason          TEXT NOT NULL DEFAULT '',
        problem         TEXT NOT NULL DEFAULT '',  -- machine code of why it waits or is flagged
        email           TEXT NOT NULL DEFAULT '',
        name            TEXT NOT NULL DEFAULT '',
        phone           TEXT NOT NULL DEFAULT '',
        channel         TEXT NOT NULL DEFAULT '',
        period          TEXT NOT NULL DEFAULT '',
        service         TEXT NOT NULL DEFAULT '',
        valid           INTEGER NOT NULL DEFAULT 1,
        duplicate_of    TEXT,
        revision        INTEGER NOT NULL DEFAULT 0,
        calendar_id     TEXT,
        event_id        TEXT,
        slot_start      TEXT,
        slot_end        TEXT,
        meet_link       TEXT,
        event_state     TEXT NOT NULL DEFAULT '',  -- '' | intent | pending | created | cancelled | failed
        ack_state       TEXT NOT NULL DEFAULT '',  -- '' | intent | sent | resent
        conf_state      TEXT NOT NULL DEFAULT '',
        conf_revision   INTEGER,
        manual_serial   REAL,            -- the `Atendimento` value balcao itself wrote
        staff_serial    REAL,            -- the last staff-typed value balcao judged
        in_sheet        INTEGER NOT NULL DEFAULT 0,  -- protocol confirmed written to the sheet
        written         TEXT NOT NULL DEFAULT '',    -- hash of the owned cells last written
        updated_at      TEXT NOT NULL,
        purged_at       TEXT
    );
    CREATE INDEX requests_fp ON requests(fingerprint);
    CREATE INDEX requests_email ON requests(email);
    CREATE INDEX requests_status ON requests(status);
    CREATE TABLE effects (
        key         TEXT PRIMARY KEY,    -- event id or Message-ID
        protocol    TEXT NOT NULL,
        kind        TEXT NOT NULL,       -- event | ack | confirmation
        revision    INTEGER NOT NULL,
        state       TEXT NOT NULL,       -- intent | done | failed
        provider_id TEXT,
        created_at  TEXT NOT NULL,
        done_at     TEXT
    );
    CREATE INDEX effects_state ON effects(state);
    CREATE INDEX effects_kind_created ON effects(kind, created_at);
    CREATE TABLE audit (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        at       TEXT NOT NULL,
        protocol TEXT,
        event    TEXT NOT NULL,
        detail   TEXT NOT NULL DEFAULT ''
    );
    """,
    # 2: the time of the legal answer (first confirmation), job runs, the elimination register.
    """
    ALTER TABLE requests ADD COLUMN answered_at TEXT;
    UPDATE requests SET answered_at = (
        SELECT MIN(e.done_at) FROM effects e
        WHERE e.protocol = requests.protocol AND e.kind = 'confirmation' AND e.state = 'done'
    );
    CREATE TABLE jobs (name TEXT PRIMARY KEY, last_run TEXT NOT NULL);
    CREATE TABLE eliminations (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        at        TEXT NOT NULL,
        reason    TEXT NOT NULL,
        protocols TEXT NOT NULL,
        sheet     INTEGER NOT NULL DEFAULT 0,
        calendar  INTEGER NOT NULL DEFAULT 0,
        journal   INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX effects_protocol ON effects(protocol, kind, revision);
    """,
    # 3: what balcao last wrote into `Situação` and `Atendimento` (anything else there is
    # staff's), and the event lookups of calendar changes.
    """
    ALTER TABLE requests ADD COLUMN shown_status TEXT;
    ALTER TABLE requests ADD COLUMN shown_appt REAL;
    ALTER TABLE requests ADD COLUMN staff_seen TEXT;
    UPDATE requests SET shown_status = status WHERE in_sheet = 1;
    CREATE INDEX requests_event ON requests(event_id);
    """,
    # 4: erasure (DESIGN §9). An elimination is committed as an intent ('intent') naming its
    # protocols before anything is erased, so a crash halfway resumes it and never loses its
    # register line; requests.erasure_id marks a request erased (or being erased): the tick
    # never takes it in, books, flags or e-mails it again.
    """
    ALTER TABLE requests ADD COLUMN erasure_id INTEGER;
    ALTER TABLE eliminations ADD COLUMN state TEXT NOT NULL DEFAULT 'done';
    CREATE INDEX requests_erasure ON requests(erasure_id);
    """,
    # 5: one inbox counted once (mailbox_key of the e-mail, filled in by Journal for older
    # rows), a lasting note for staff, the requests whose cells never reached the sheet.
    """
    ALTER TABLE requests ADD COLUMN mailbox TEXT NOT NULL DEFAULT '';
    ALTER TABLE requests ADD COLUMN staff_note TEXT NOT NULL DEFAULT '';
    CREATE INDEX requests_mailbox ON requests(mailbox);
    CREATE INDEX requests_never_written ON requests(seq) WHERE written = '';
    """,
]
