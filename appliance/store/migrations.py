"""Schema versions, from the first commit on.

Each migration is plain SQL applied once, in order, inside a transaction;
`schema_version` records the last one applied. Never edit a released
migration: append a new one, so an upgrade keeps every row.
"""

from __future__ import annotations

import logging

import peewee

log = logging.getLogger(__name__)

V1 = """
CREATE TABLE system_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    appliance_name VARCHAR(64) NOT NULL DEFAULT 'PBX',
    sip_domain VARCHAR(253) NOT NULL DEFAULT 'pbx.local',
    country VARCHAR(2) NOT NULL DEFAULT 'FR',
    timezone VARCHAR(64) NOT NULL DEFAULT 'Europe/Paris',
    language VARCHAR(5) NOT NULL DEFAULT 'fr',
    ring_timeout_s INTEGER NOT NULL DEFAULT 30,
    ban_failures INTEGER NOT NULL DEFAULT 10,
    ban_window_s INTEGER NOT NULL DEFAULT 60,
    ban_minutes INTEGER NOT NULL DEFAULT 15,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO system_settings (id) VALUES (1);

CREATE TABLE user (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    login VARCHAR(64) NOT NULL UNIQUE,
    extension VARCHAR(16) UNIQUE,
    first_name VARCHAR(64) NOT NULL DEFAULT '',
    last_name VARCHAR(64) NOT NULL DEFAULT '',
    email VARCHAR(254) UNIQUE,
    role VARCHAR(16) NOT NULL DEFAULT 'user',
    language VARCHAR(5) NOT NULL DEFAULT 'fr',
    web_password_hash VARCHAR(255),
    must_change_password INTEGER NOT NULL DEFAULT 0,
    sip_password_enc TEXT,
    ha1 VARCHAR(32),
    ha1b VARCHAR(32),
    revision INTEGER NOT NULL DEFAULT 1,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE web_session (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token_hash VARCHAR(64) NOT NULL UNIQUE,
    user_id INTEGER NOT NULL REFERENCES user (id) ON DELETE CASCADE,
    kind VARCHAR(8) NOT NULL DEFAULT 'web',
    csrf_token VARCHAR(64) NOT NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    last_seen_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    expires_at DATETIME NOT NULL
);
CREATE INDEX web_session_user ON web_session (user_id);

CREATE TABLE auth_failure (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    source VARCHAR(64) NOT NULL,
    login VARCHAR(64) NOT NULL DEFAULT '',
    at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX auth_failure_source_at ON auth_failure (source, at);

CREATE TABLE cdr (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id VARCHAR(64) NOT NULL UNIQUE,
    caller VARCHAR(64) NOT NULL,
    caller_name VARCHAR(128) NOT NULL DEFAULT '',
    callee VARCHAR(64) NOT NULL,
    start DATETIME NOT NULL,
    answer DATETIME,
    "end" DATETIME,
    billsec INTEGER NOT NULL DEFAULT 0,
    disposition VARCHAR(16) NOT NULL DEFAULT 'in_progress',
    hangup_cause VARCHAR(128) NOT NULL DEFAULT '',
    worker VARCHAR(32) NOT NULL DEFAULT ''
);
CREATE INDEX cdr_start ON cdr (start);
CREATE INDEX cdr_open ON cdr ("end");

-- Kamailio's auth_db reads credentials straight from the users table through
-- this view: one home for each extension's HA1, no copy to keep in step.
CREATE TABLE version (
    table_name VARCHAR(32) NOT NULL PRIMARY KEY,
    table_version INTEGER NOT NULL DEFAULT 0
);
INSERT INTO version (table_name, table_version) VALUES ('subscriber', 7);
CREATE VIEW subscriber AS
    SELECT id, extension AS username, ha1, ha1b
    FROM user WHERE extension IS NOT NULL AND ha1 IS NOT NULL;
"""

# System settings get a revision: two admins saving at once do not overwrite each other.
V2 = """
ALTER TABLE system_settings ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
"""

# Flood protection threshold (pike): requests from one address per 2 seconds.
V3 = """
ALTER TABLE system_settings ADD COLUMN flood_limit INTEGER NOT NULL DEFAULT 100;
"""

# Which dispatch of a call by Kamailio a CDR row comes from: when a worker is
# too slow to answer, Kamailio hands the INVITE (same Call-ID) to another
# worker; the later dispatch owns the call's one row.
V4 = """
ALTER TABLE cdr ADD COLUMN dispatch INTEGER NOT NULL DEFAULT 1;
"""

# The dialplan (issue 3). Each object is known by its `name` (a slug, fixed at
# creation) so that references read the same in the UI, the API and the
# store. A procedure holds its ordered called numbers and their ordered
# applications as one JSON document: reordering is one atomic write.
# `dialplan_meta.revision` is bumped by every configuration change, so call
# workers reuse their compiled dialplan until it moves; live state (a
# switch's position, a group's round-robin pointer) is read at call time.
V5 = """
ALTER TABLE user ADD COLUMN dialplan VARCHAR(64) NOT NULL DEFAULT 'users';
ALTER TABLE user ADD COLUMN mobile VARCHAR(32) NOT NULL DEFAULT '';

CREATE TABLE dialplan_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL DEFAULT 1
);
INSERT INTO dialplan_meta (id) VALUES (1);

CREATE TABLE dialplan_procedure (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(64) NOT NULL UNIQUE,
    description VARCHAR(255) NOT NULL DEFAULT '',
    includes TEXT NOT NULL DEFAULT '[]',
    numbers TEXT NOT NULL DEFAULT '[]',
    revision INTEGER NOT NULL DEFAULT 1,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
-- "internal" is generated (every extension, the feature codes); "users" is
-- what phones dial by default, "main" what trunks bring by default.
INSERT INTO dialplan_procedure (name, description, includes) VALUES
    ('internal', 'Extensions and feature codes (generated)', '[]'),
    ('users', 'Calls placed by users', '["internal"]'),
    ('main', 'Calls arriving on trunks', '[]');

CREATE TABLE time_range (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(64) NOT NULL UNIQUE,
    description VARCHAR(255) NOT NULL DEFAULT '',
    intervals TEXT NOT NULL DEFAULT '[]',
    holidays TEXT NOT NULL DEFAULT '[]',
    country_holidays INTEGER NOT NULL DEFAULT 0,
    holiday_mode VARCHAR(8) NOT NULL DEFAULT 'outside',
    revision INTEGER NOT NULL DEFAULT 1,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE switch (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(64) NOT NULL UNIQUE,
    description VARCHAR(255) NOT NULL DEFAULT '',
    code INTEGER NOT NULL UNIQUE,
    states INTEGER NOT NULL DEFAULT 2,
    state INTEGER NOT NULL DEFAULT 0,
    allowed TEXT NOT NULL DEFAULT '[]',
    changed_by VARCHAR(64) NOT NULL DEFAULT '',
    revision INTEGER NOT NULL DEFAULT 1,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE call_group (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(64) NOT NULL UNIQUE,
    description VARCHAR(255) NOT NULL DEFAULT '',
    strategy VARCHAR(16) NOT NULL DEFAULT 'ring_all',
    ring_seconds INTEGER NOT NULL DEFAULT 60,
    member_ring_seconds INTEGER NOT NULL DEFAULT 15,
    members TEXT NOT NULL DEFAULT '[]',
    no_answer_procedure VARCHAR(64) NOT NULL DEFAULT '',
    no_answer_number VARCHAR(64) NOT NULL DEFAULT '',
    revision INTEGER NOT NULL DEFAULT 1,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- Live state of call groups, written by calls (not configuration).
CREATE TABLE call_group_state (
    group_name VARCHAR(64) NOT NULL,
    extension VARCHAR(16) NOT NULL,
    last_called_at DATETIME,
    calls_answered INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (group_name, extension)
);
CREATE TABLE call_group_pointer (
    group_name VARCHAR(64) NOT NULL PRIMARY KEY,
    next_index INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE ivr (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(64) NOT NULL UNIQUE,
    description VARCHAR(255) NOT NULL DEFAULT '',
    tree TEXT NOT NULL DEFAULT '{}',
    revision INTEGER NOT NULL DEFAULT 1,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE moh_class (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(64) NOT NULL UNIQUE,
    description VARCHAR(255) NOT NULL DEFAULT ''
);
INSERT INTO moh_class (name, description) VALUES ('default', 'Generated default music on hold');

CREATE TABLE sound (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(64) NOT NULL UNIQUE,
    description VARCHAR(255) NOT NULL DEFAULT '',
    kind VARCHAR(8) NOT NULL DEFAULT 'prompt',
    moh_class VARCHAR(64),
    origin VARCHAR(12) NOT NULL DEFAULT 'upload',
    language VARCHAR(5) NOT NULL DEFAULT '',
    tts_text TEXT NOT NULL DEFAULT '',
    file VARCHAR(255) NOT NULL,
    duration_s REAL NOT NULL DEFAULT 0,
    size_bytes INTEGER NOT NULL DEFAULT 0,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
"""

# Trunks, inbound numbers, trunk groups, prices, toll-fraud guards, the event log (issue 5).
V6 = """
ALTER TABLE system_settings ADD COLUMN national_prefix VARCHAR(4) NOT NULL DEFAULT '0';
ALTER TABLE system_settings ADD COLUMN international_prefix VARCHAR(4) NOT NULL DEFAULT '00';

ALTER TABLE user ADD COLUMN caller_id_mode VARCHAR(12) NOT NULL DEFAULT 'appliance';
ALTER TABLE user ADD COLUMN caller_id_number VARCHAR(32) NOT NULL DEFAULT '';

ALTER TABLE cdr ADD COLUMN direction VARCHAR(8) NOT NULL DEFAULT 'internal';
ALTER TABLE cdr ADD COLUMN trunk VARCHAR(64) NOT NULL DEFAULT '';
ALTER TABLE cdr ADD COLUMN call_class VARCHAR(16) NOT NULL DEFAULT '';
ALTER TABLE cdr ADD COLUMN dialled VARCHAR(40) NOT NULL DEFAULT '';
ALTER TABLE cdr ADD COLUMN cost REAL;

CREATE TABLE trunk (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(64) NOT NULL UNIQUE,
    title VARCHAR(128) NOT NULL DEFAULT '',
    preset VARCHAR(32) NOT NULL DEFAULT 'generic',
    auth_user VARCHAR(64) NOT NULL DEFAULT '',
    from_user VARCHAR(64) NOT NULL DEFAULT '',
    provider_domain VARCHAR(253) NOT NULL DEFAULT '',
    host VARCHAR(260) NOT NULL DEFAULT '',
    password_enc TEXT,
    ha1 VARCHAR(32),
    register INTEGER NOT NULL DEFAULT 1,
    keepalive INTEGER NOT NULL DEFAULT 1,
    transport VARCHAR(3) NOT NULL DEFAULT 'udp',
    codecs TEXT NOT NULL DEFAULT '["PCMA","PCMU","G722"]',
    max_calls INTEGER NOT NULL DEFAULT 0,
    country_code VARCHAR(4) NOT NULL DEFAULT '',
    inbound_procedure VARCHAR(64) NOT NULL DEFAULT 'main',
    outbound_caller_id VARCHAR(32) NOT NULL DEFAULT '',
    called_header VARCHAR(10) NOT NULL DEFAULT 'ruri',
    ip_auth TEXT NOT NULL DEFAULT '[]',
    price_list VARCHAR(64),
    enabled INTEGER NOT NULL DEFAULT 1,
    revision INTEGER NOT NULL DEFAULT 1,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE did (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number VARCHAR(40) NOT NULL UNIQUE,
    trunk VARCHAR(64),
    description VARCHAR(255) NOT NULL DEFAULT '',
    destination_kind VARCHAR(12) NOT NULL,
    destination VARCHAR(64) NOT NULL DEFAULT '',
    procedure VARCHAR(64) NOT NULL DEFAULT '',
    revision INTEGER NOT NULL DEFAULT 1,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE trunk_group (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(64) NOT NULL UNIQUE,
    description VARCHAR(255) NOT NULL DEFAULT '',
    members TEXT NOT NULL DEFAULT '[]',
    failover_delay_s INTEGER NOT NULL DEFAULT 0,
    revision INTEGER NOT NULL DEFAULT 1,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE price_list (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(64) NOT NULL UNIQUE,
    description VARCHAR(255) NOT NULL DEFAULT '',
    currency VARCHAR(3) NOT NULL DEFAULT 'EUR',
    revision INTEGER NOT NULL DEFAULT 1,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE price_rate (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    list_id INTEGER NOT NULL REFERENCES price_list (id) ON DELETE CASCADE,
    dialprefix VARCHAR(32) NOT NULL,
    destination VARCHAR(128) NOT NULL DEFAULT '',
    rate REAL NOT NULL,
    min_duration INTEGER NOT NULL DEFAULT 0,
    billing_block INTEGER NOT NULL DEFAULT 60,
    connect_charge REAL NOT NULL DEFAULT 0,
    start_day INTEGER NOT NULL DEFAULT 1,
    stop_day INTEGER NOT NULL DEFAULT 7,
    start_time INTEGER NOT NULL DEFAULT 0,
    stop_time INTEGER NOT NULL DEFAULT 86400
);
CREATE INDEX price_rate_prefix ON price_rate (list_id, dialprefix);

-- Toll-fraud guards: one row of settings, the unlocks used, and blocked calls go to the event log.
CREATE TABLE fraud_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    enabled INTEGER NOT NULL DEFAULT 1,
    allowed_countries TEXT NOT NULL DEFAULT '[]',
    daily_budget REAL NOT NULL DEFAULT 50,
    calls_per_minute INTEGER NOT NULL DEFAULT 10,
    calls_per_minute_per_user INTEGER NOT NULL DEFAULT 3,
    premium_allowed INTEGER NOT NULL DEFAULT 0,
    max_calls_per_user INTEGER NOT NULL DEFAULT 2,
    max_call_minutes INTEGER NOT NULL DEFAULT 120,
    blocked_until DATETIME,
    revision INTEGER NOT NULL DEFAULT 1
);
INSERT INTO fraud_settings (id) VALUES (1);
CREATE TABLE fraud_unlock (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    by VARCHAR(64) NOT NULL DEFAULT ''
);

-- The event log: trunk state, registration and DNS failures, bans, emergency calls, fraud blocks.
CREATE TABLE event (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    kind VARCHAR(48) NOT NULL,
    severity VARCHAR(8) NOT NULL DEFAULT 'info',
    subject VARCHAR(128) NOT NULL DEFAULT '',
    message VARCHAR(512) NOT NULL DEFAULT '',
    details TEXT NOT NULL DEFAULT '{}',
    emailed INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX event_at ON event (at);
CREATE INDEX event_kind ON event (kind, at);
"""

# Toll-fraud guards: the outbound calls the guard let through, counted by the per-minute rate limits
# (appliance-wide and per user) across every worker process; rows older than an hour are pruned.
V7 = """
CREATE TABLE fraud_attempt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at DATETIME NOT NULL,
    user VARCHAR(64) NOT NULL DEFAULT ''
);
CREATE INDEX fraud_attempt_at ON fraud_attempt (at);
CREATE INDEX fraud_attempt_user ON fraud_attempt (user, at);
"""

# Dynamic trunks (the other PBX registers to us): Kamailio's auth_db checks their digest against the
# trunk's HA1 (realm = the SIP domain) through this view, as it does the phones' through `subscriber`.
V8 = """
INSERT INTO version (table_name, table_version) VALUES ('trunk_subscriber', 7);
CREATE VIEW trunk_subscriber AS
    SELECT id, auth_user AS username, ha1, ha1 AS ha1b
    FROM trunk WHERE host = 'dynamic' AND enabled = 1 AND auth_user != '' AND ha1 IS NOT NULL;
"""

# Voicemail: a box per user (user_id) or shared (user_id NULL, users subscribe), its messages (WAV files
# under <data>/voicemail/<box id>/, metadata here). The PIN is a scrypt hash like web passwords.
V9 = """
CREATE TABLE voicemail_box (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    number VARCHAR(16) NOT NULL UNIQUE,
    user_id INTEGER REFERENCES user (id) ON DELETE CASCADE,
    name VARCHAR(64) NOT NULL DEFAULT '',
    language VARCHAR(5) NOT NULL DEFAULT '',
    enabled INTEGER NOT NULL DEFAULT 1,
    pin_hash VARCHAR(255),
    max_message_s INTEGER NOT NULL DEFAULT 180,
    quota_mb INTEGER NOT NULL DEFAULT 30,
    retention_days INTEGER NOT NULL DEFAULT 30,
    announce INTEGER NOT NULL DEFAULT 0,
    ring_seconds INTEGER NOT NULL DEFAULT 20,
    email_mode VARCHAR(16) NOT NULL DEFAULT 'none',
    email_address VARCHAR(254) NOT NULL DEFAULT '',
    greetings TEXT NOT NULL DEFAULT '{}',
    revision INTEGER NOT NULL DEFAULT 1,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX voicemail_box_user ON voicemail_box (user_id) WHERE user_id IS NOT NULL;
CREATE TABLE voicemail_subscription (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    box_id INTEGER NOT NULL REFERENCES voicemail_box (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES user (id) ON DELETE CASCADE,
    UNIQUE (box_id, user_id)
);
CREATE TABLE voicemail_message (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    box_id INTEGER NOT NULL REFERENCES voicemail_box (id) ON DELETE CASCADE,
    folder VARCHAR(8) NOT NULL DEFAULT 'new',
    read INTEGER NOT NULL DEFAULT 0,
    urgent INTEGER NOT NULL DEFAULT 0,
    caller VARCHAR(64) NOT NULL DEFAULT '',
    caller_name VARCHAR(128) NOT NULL DEFAULT '',
    received_at DATETIME NOT NULL,
    duration REAL NOT NULL DEFAULT 0,
    size_bytes INTEGER NOT NULL DEFAULT 0,
    file VARCHAR(255) NOT NULL,
    email_state VARCHAR(12) NOT NULL DEFAULT '',
    email_ref VARCHAR(64) NOT NULL DEFAULT ''
);
CREATE INDEX voicemail_message_box ON voicemail_message (box_id, folder, received_at);
"""

# Mail: SMTP client profiles (password Fernet-encrypted, never shown again), the mail settings (the admin
# alert address, one row) and the outgoing queue the background sender delivers with retries (appliance.mail).
V10 = """
CREATE TABLE mail_profile (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(64) NOT NULL UNIQUE,
    description VARCHAR(255) NOT NULL DEFAULT '',
    sender VARCHAR(254) NOT NULL,
    sender_name VARCHAR(128) NOT NULL DEFAULT '',
    server VARCHAR(253) NOT NULL,
    port INTEGER NOT NULL DEFAULT 587,
    security VARCHAR(8) NOT NULL DEFAULT 'starttls',
    username VARCHAR(254) NOT NULL DEFAULT '',
    password_enc TEXT,
    helo VARCHAR(253) NOT NULL DEFAULT '',
    verify_tls INTEGER NOT NULL DEFAULT 1,
    is_default INTEGER NOT NULL DEFAULT 0,
    revision INTEGER NOT NULL DEFAULT 1,
    updated_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE mail_settings (
    id INTEGER PRIMARY KEY,
    admin_address VARCHAR(254) NOT NULL DEFAULT '',
    alert_severity VARCHAR(8) NOT NULL DEFAULT 'warning',
    revision INTEGER NOT NULL DEFAULT 1
);
INSERT INTO mail_settings (id) VALUES (1);
CREATE TABLE mail_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at DATETIME NOT NULL,
    profile VARCHAR(64),
    recipients TEXT NOT NULL DEFAULT '[]',
    subject VARCHAR(998) NOT NULL DEFAULT '',
    message BLOB NOT NULL,
    size INTEGER NOT NULL DEFAULT 0,
    purpose VARCHAR(32) NOT NULL DEFAULT '',
    reference VARCHAR(128) NOT NULL DEFAULT '',
    on_sent VARCHAR(200) NOT NULL DEFAULT '',
    state VARCHAR(8) NOT NULL DEFAULT 'queued',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at DATETIME NOT NULL,
    last_attempt_at DATETIME,
    last_reason VARCHAR(16) NOT NULL DEFAULT '',
    last_error VARCHAR(512) NOT NULL DEFAULT '',
    sent_at DATETIME,
    server_reply VARCHAR(512) NOT NULL DEFAULT ''
);
CREATE INDEX mail_queue_due ON mail_queue (state, next_attempt_at);
CREATE INDEX mail_queue_ref ON mail_queue (purpose, reference);
"""

# Conference rooms (configuration, with a revision) and who is in them right now: one row per
# participant, naming the call-core worker holding its leg (the registry workers use to find each other).
V11 = """
CREATE TABLE conference_room (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(64) NOT NULL UNIQUE,
    number VARCHAR(32) NOT NULL UNIQUE,
    description VARCHAR(255) NOT NULL DEFAULT '',
    pin VARCHAR(16) NOT NULL DEFAULT '',
    moderator_pin VARCHAR(16) NOT NULL DEFAULT '',
    max_participants INTEGER NOT NULL DEFAULT 30,
    entry_tones INTEGER NOT NULL DEFAULT 1,
    exit_tones INTEGER NOT NULL DEFAULT 1,
    announce_count INTEGER NOT NULL DEFAULT 1,
    language VARCHAR(5) NOT NULL DEFAULT '',
    locked INTEGER NOT NULL DEFAULT 0,
    revision INTEGER NOT NULL DEFAULT 1,
    created_at DATETIME NOT NULL
);
CREATE TABLE conference_participant (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    room_id INTEGER NOT NULL REFERENCES conference_room (id) ON DELETE CASCADE,
    call_id VARCHAR(255) NOT NULL UNIQUE,
    worker VARCHAR(16) NOT NULL,
    caller VARCHAR(64) NOT NULL DEFAULT '',
    caller_name VARCHAR(128) NOT NULL DEFAULT '',
    moderator INTEGER NOT NULL DEFAULT 0,
    muted INTEGER NOT NULL DEFAULT 0,
    joined_at DATETIME NOT NULL
);
CREATE INDEX conference_participant_room ON conference_participant (room_id);
CREATE INDEX conference_participant_worker ON conference_participant (worker);
"""

# Call recording: per user (never / always / on demand with a feature code) and per call group; one
# settings row (legal-notice announcement, feature code, quota per user, retention); each recording is a
# WAV file under <data>/recordings/, linked to its call's CDR by call_id.
V12 = """
ALTER TABLE user ADD COLUMN recording_mode VARCHAR(10) NOT NULL DEFAULT 'never';
ALTER TABLE call_group ADD COLUMN record INTEGER NOT NULL DEFAULT 0;
CREATE TABLE recording_settings (
    id INTEGER PRIMARY KEY,
    announcement INTEGER NOT NULL DEFAULT 0,
    feature_code VARCHAR(8) NOT NULL DEFAULT '*1',
    quota_mb INTEGER NOT NULL DEFAULT 30,
    retention_days INTEGER NOT NULL DEFAULT 30,
    revision INTEGER NOT NULL DEFAULT 1
);
INSERT INTO recording_settings (id) VALUES (1);
CREATE TABLE recording (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    call_id VARCHAR(64) NOT NULL,
    owner VARCHAR(64) NOT NULL DEFAULT '',
    reason VARCHAR(12) NOT NULL,
    started_at DATETIME NOT NULL,
    duration_s REAL,
    size_bytes INTEGER,
    file VARCHAR(255) NOT NULL UNIQUE
);
CREATE INDEX recording_call ON recording (call_id);
CREATE INDEX recording_owner ON recording (owner, started_at);
"""

V13 = """
-- A TLS trunk checks the provider's certificate against the system's CAs unless this is 0
-- (a PBX or provider with a self-signed certificate).
ALTER TABLE trunk ADD COLUMN tls_verify INTEGER NOT NULL DEFAULT 1;
"""

# Phone provisioning (appliance.provisioning): devices found by their provisioning requests or added by
# MAC, each with its own HTTP digest credentials (HA1 over the realm "provisioning", and the password
# Fernet-encrypted because the phone is given it back in its config), optional trusted address ranges and
# a secret link for phones outside the LAN; one settings row (auto-add window, codecs); the company
# phonebook's extra contacts; firmware files uploaded per vendor/model.
V14 = """
CREATE TABLE device (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mac VARCHAR(12) NOT NULL UNIQUE,
    vendor VARCHAR(32) NOT NULL DEFAULT '',
    model VARCHAR(64) NOT NULL DEFAULT '',
    firmware VARCHAR(64) NOT NULL DEFAULT '',
    user_agent VARCHAR(255) NOT NULL DEFAULT '',
    ip VARCHAR(64) NOT NULL DEFAULT '',
    last_seen DATETIME,
    last_file VARCHAR(128) NOT NULL DEFAULT '',
    user_id INTEGER REFERENCES user (id) ON DELETE SET NULL,
    label VARCHAR(64) NOT NULL DEFAULT '',
    added_by VARCHAR(8) NOT NULL DEFAULT 'auto',
    prov_username VARCHAR(64) NOT NULL,
    prov_ha1 VARCHAR(32) NOT NULL,
    prov_password_enc TEXT NOT NULL,
    credentials_delivered INTEGER NOT NULL DEFAULT 0,
    trusted_ranges TEXT NOT NULL DEFAULT '',
    link_token_hash VARCHAR(64) NOT NULL UNIQUE,
    link_token_enc TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    revision INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX device_user ON device (user_id);
CREATE TABLE provisioning_settings (
    id INTEGER PRIMARY KEY,
    auto_add_until DATETIME,
    codecs VARCHAR(128) NOT NULL DEFAULT 'G722,PCMA,PCMU',
    revision INTEGER NOT NULL DEFAULT 1
);
INSERT INTO provisioning_settings (id) VALUES (1);
CREATE TABLE phonebook_contact (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(128) NOT NULL,
    company VARCHAR(128) NOT NULL DEFAULT '',
    number VARCHAR(32) NOT NULL,
    mobile VARCHAR(32) NOT NULL DEFAULT '',
    created_at DATETIME NOT NULL
);
CREATE TABLE firmware (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    vendor VARCHAR(32) NOT NULL,
    model VARCHAR(64) NOT NULL,
    version VARCHAR(64) NOT NULL DEFAULT '',
    filename VARCHAR(255) NOT NULL UNIQUE,
    size_bytes INTEGER NOT NULL DEFAULT 0,
    sha256 VARCHAR(64) NOT NULL DEFAULT '',
    uploaded_at DATETIME NOT NULL,
    UNIQUE (vendor, model)
);
"""

# Console (serialconsole/): an admin's SSH public keys (OpenSSH authorized_keys lines), and the LAN
# address changes asked for on the serial/SSH console. Applying one (with the 60 s rollback) is
# netconfig's job: it takes the oldest 'pending' row and sets state to applied / rolled_back.
V15 = """
ALTER TABLE user ADD COLUMN ssh_keys TEXT NOT NULL DEFAULT '';
CREATE TABLE network_change (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    interface VARCHAR(8) NOT NULL,
    address VARCHAR(64) NOT NULL,
    requested_by VARCHAR(64) NOT NULL DEFAULT '',
    via VARCHAR(16) NOT NULL DEFAULT '',
    requested_at DATETIME NOT NULL,
    state VARCHAR(12) NOT NULL DEFAULT 'pending',
    detail VARCHAR(255) NOT NULL DEFAULT '',
    updated_at DATETIME
);
CREATE INDEX network_change_state ON network_change (interface, state);
"""

# Network (netconfig/): the scenario and traffic-shaper limits, the four ports, the DHCP server on LAN1 and its
# static leases. `applied_revision` is the revision live on the interfaces (confirmed or still in its rollback window).
V16 = """
CREATE TABLE net_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    scenario VARCHAR(16) NOT NULL DEFAULT 'separate',
    shaper_upload_kbit INTEGER NOT NULL DEFAULT 0,
    shaper_download_kbit INTEGER NOT NULL DEFAULT 0,
    revision INTEGER NOT NULL DEFAULT 1,
    applied_revision INTEGER NOT NULL DEFAULT 0,
    updated_at DATETIME
);
INSERT INTO net_settings (id) VALUES (1);
CREATE TABLE net_interface (
    name VARCHAR(8) PRIMARY KEY,
    mode VARCHAR(8) NOT NULL DEFAULT 'off',
    address VARCHAR(64) NOT NULL DEFAULT '',
    gateway VARCHAR(64) NOT NULL DEFAULT '',
    dns VARCHAR(255) NOT NULL DEFAULT '',
    mtu INTEGER NOT NULL DEFAULT 1500,
    vlan INTEGER
);
INSERT INTO net_interface (name, mode) VALUES ('eth0', 'dhcp');
INSERT INTO net_interface (name, mode, address) VALUES ('eth1', 'static', '10.135.0.1/24');
INSERT INTO net_interface (name, mode) VALUES ('eth2', 'off');
INSERT INTO net_interface (name, mode) VALUES ('eth3', 'off');
CREATE TABLE dhcp_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    enabled INTEGER NOT NULL DEFAULT 1,
    interface VARCHAR(8) NOT NULL DEFAULT 'eth1',
    range_start VARCHAR(64) NOT NULL DEFAULT '10.135.0.100',
    range_end VARCHAR(64) NOT NULL DEFAULT '10.135.0.250',
    lease_minutes INTEGER NOT NULL DEFAULT 1440,
    max_leases INTEGER NOT NULL DEFAULT 150,
    domain VARCHAR(255) NOT NULL DEFAULT '',
    gateway VARCHAR(64) NOT NULL DEFAULT '',
    dns1 VARCHAR(64) NOT NULL DEFAULT '',
    dns2 VARCHAR(64) NOT NULL DEFAULT '',
    ntp1 VARCHAR(64) NOT NULL DEFAULT '',
    ntp2 VARCHAR(64) NOT NULL DEFAULT '',
    wins1 VARCHAR(64) NOT NULL DEFAULT '',
    wins2 VARCHAR(64) NOT NULL DEFAULT '',
    refuse_unknown INTEGER NOT NULL DEFAULT 0,
    provisioning_name VARCHAR(255) NOT NULL DEFAULT 'provisioning.pbx.lan',
    revision INTEGER NOT NULL DEFAULT 1,
    updated_at DATETIME
);
INSERT INTO dhcp_settings (id) VALUES (1);
CREATE TABLE dhcp_static_lease (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    mac VARCHAR(17) NOT NULL UNIQUE,
    address VARCHAR(64) NOT NULL UNIQUE,
    hostname VARCHAR(63) NOT NULL DEFAULT ''
);
"""

V17 = """
-- storage: volumes the appliance initialized (mounted by label when they appear), where each kind of
-- data lives (volume_uuid '' = the internal data folder), SMB/NFS shares as backup destinations.
CREATE TABLE storage_volume (
    uuid VARCHAR(64) PRIMARY KEY,
    label VARCHAR(16) NOT NULL UNIQUE,
    size_bytes INTEGER NOT NULL DEFAULT 0,
    initialized_at DATETIME
);
CREATE TABLE storage_placement (
    kind VARCHAR(32) PRIMARY KEY,
    volume_uuid VARCHAR(64) NOT NULL DEFAULT '',
    revision INTEGER NOT NULL DEFAULT 1,
    updated_at DATETIME
);
INSERT INTO storage_placement (kind) VALUES ('voicemail');
INSERT INTO storage_placement (kind) VALUES ('recordings');
INSERT INTO storage_placement (kind) VALUES ('call_history');
INSERT INTO storage_placement (kind) VALUES ('backups');
CREATE TABLE storage_share (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(64) NOT NULL UNIQUE,
    protocol VARCHAR(8) NOT NULL,
    server VARCHAR(255) NOT NULL,
    share VARCHAR(255) NOT NULL,
    folder VARCHAR(255) NOT NULL DEFAULT '',
    username VARCHAR(128) NOT NULL DEFAULT '',
    password_enc TEXT NOT NULL DEFAULT '',
    domain VARCHAR(128) NOT NULL DEFAULT '',
    version VARCHAR(8) NOT NULL DEFAULT '',
    last_test_at DATETIME,
    last_test_ok INTEGER,
    last_test_message VARCHAR(512) NOT NULL DEFAULT '',
    revision INTEGER NOT NULL DEFAULT 1
);
"""

# The console's LAN address requests (V15) now go to netconfig's net_interface (V16), the one home of the
# network settings: the request table is gone.
V18 = """
DROP TABLE network_change;
"""

# Scheduled backups (appliance.backup.schedule): one row; archives go to the backup folder
# (storage.placement "backups"), the last `keep` scheduled ones are kept. The passphrase is a Fernet token.
V19 = """
CREATE TABLE backup_schedule (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    frequency VARCHAR(8) NOT NULL DEFAULT 'off',
    hour INTEGER NOT NULL DEFAULT 3,
    weekday INTEGER NOT NULL DEFAULT 0,
    month_day INTEGER NOT NULL DEFAULT 1,
    parts TEXT NOT NULL DEFAULT '[]',
    secrets INTEGER NOT NULL DEFAULT 1,
    passphrase_enc TEXT,
    keep INTEGER NOT NULL DEFAULT 7,
    last_run_at DATETIME,
    last_status VARCHAR(8) NOT NULL DEFAULT '',
    last_message VARCHAR(512) NOT NULL DEFAULT '',
    last_file VARCHAR(128) NOT NULL DEFAULT '',
    revision INTEGER NOT NULL DEFAULT 1
);
INSERT INTO backup_schedule (id) VALUES (1);
"""

# The backup schedule's destination (appliance.backup.destinations): folder (the backup folder), share (a
# storage share by name), sftp or email; `target` holds the kind's settings as JSON (no secret), the SFTP
# password is a Fernet token, host_key the SFTP server's pinned key ("<type> <base64>", trust on first use).
V20 = """
ALTER TABLE backup_schedule ADD COLUMN destination VARCHAR(8) NOT NULL DEFAULT 'folder';
ALTER TABLE backup_schedule ADD COLUMN target TEXT NOT NULL DEFAULT '{}';
ALTER TABLE backup_schedule ADD COLUMN target_secret_enc TEXT;
ALTER TABLE backup_schedule ADD COLUMN host_key TEXT NOT NULL DEFAULT '';
"""

MIGRATIONS: list[str] = [V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12, V13, V14, V15, V16, V17, V18, V19, V20]


def current_version(db: peewee.SqliteDatabase) -> int:
    db.execute_sql("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = db.execute_sql("SELECT MAX(version) FROM schema_version").fetchone()
    return row[0] or 0


def migrate(db: peewee.SqliteDatabase) -> int:
    """Apply every migration newer than the database; return the version reached."""
    version = current_version(db)
    if version > len(MIGRATIONS):
        from appliance.errors import ApplianceError

        raise ApplianceError(
            f"database schema {version} is newer than this software ({len(MIGRATIONS)})"
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        with db.atomic():
            for statement in _statements(script):
                db.execute_sql(statement)
            db.execute_sql("INSERT INTO schema_version (version) VALUES (?)", (number,))
        log.info("store migrated to schema %d", number)
    return len(MIGRATIONS)


def _statements(script: str) -> list[str]:
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
