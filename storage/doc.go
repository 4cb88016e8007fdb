// Package storage is the node's store: one badger v4 database per node,
// encrypted at rest, holding contacts, envelopes and their decrypted
// messages, conversations, the outbox, the DM keys peers set up with us,
// contacts' mailbox grants, and groups: their keys, their ops and a sync
// index of their envelopes.
//
// It does not decide anything about the protocol: callers hand it decrypted,
// verified messages with their envelopes (PutRecords), and it keeps them
// idempotent, ordered and durable, and the state of file transfers (the
// files themselves live in the file system). It does not yet hold
// disappearing-message TTLs; those come with their own key prefix. (The
// group prefixes, i/, p/, mg/, od/ and oy/ needed no migration: older stores have
// no keys under them; a group message queued before p/ existed stays queued. The
// strangers' counters did: migration 1 → 2 counts the requests an older
// store holds. Nor did the stored status, a new value (5) of the record's
// status byte: every older record reads as before; a release from before
// it would refuse a record that has it, as it refuses any newer format.)
//
// # Durability
//
// Badger runs with SyncWrites: every method that writes returns only after
// its transaction is on disk, so a crash at any point loses nothing that was
// acknowledged. A write that fails changes nothing (PutRecords with more
// records than one transaction holds is the exception: it commits in several
// transactions and may stop between two; retrying is safe because records
// are idempotent).
//
// Group commit is done here, not by badger. Badger's write goroutine does
// collect the transactions that arrive while it is writing, but then syncs
// its write-ahead log once per transaction (DB.writeRequests calls writeToLSM
// for each request, and each ends in memTable.SyncWAL, an msync). So every
// write goes through one writer goroutine (writer.go) that merges all the
// writes waiting for it into one transaction and one sync, splitting only at
// badger's transaction size limit (ErrTxnTooBig). Writers therefore never
// conflict, and concurrent writers share syncs: see
// BenchmarkPutRecordsConcurrent.
//
// # Full disk
//
// Badger writes its logs through mmap, and a page the disk cannot back
// kills the process with SIGBUS, so the store never lets badger near a full
// disk: below a watermark of free space (DefaultMinFree, 64 MiB) every write
// fails with a *parley.DiskFullError and changes nothing, while reads go
// on. Opened on a full disk, badger itself is opened read-only, and
// reopened read-write once space is back (Options.OnSpace tells when).
// space.go says why the watermark is what it is.
//
// # Encryption
//
// Options.EncryptionKey is required: badger encrypts the WAL, the value log
// and every table with AES-256 data keys, themselves encrypted with this key
// in its KEYREGISTRY file. Opening with another key fails with
// ErrKeyMismatch and changes nothing.
//
// # Key layout
//
// IDs are raw bytes: peer is the text peer ID, conv a 32-byte conversation
// ID, id a 32-byte envelope ID, hlc and seq 8-byte big-endian numbers, so
// byte order is numeric order. Values are encoded in codec.go; golden files
// under testdata/golden pin every value format and the key layout.
//
//	meta/schema                 schema version
//	meta/outbox-seq             next outbox sequence number
//	meta/strangers              what all strangers' records take: count(8) bytes(8)
//	c/ peer                     contact (JSON)
//	e/ id                       envelope bytes, as sent or received; presence makes a record a duplicate
//	r/ id                       message record (binary): every kind, with its status
//	m/ conv hlc id              (empty) text and file messages in display order; MessagePage seeks a cursor in it
//	u/ conv hlc id              (empty) unread incoming text; kept in step with Conversation.Unread
//	v/ conv                     conversation (binary)
//	o/ peer 0x00 seq            envelope ID waiting in peer's outbox, in queue order
//	q/ peer 0x00 id             its seq, to remove an entry by ID
//	k/ peer 0x00 keyID          a DM key a peer established with us
//	g/ conv                     group: name, our state, invite hints (JSON)
//	gk/ conv keyID              group epoch key(32) and the HLC the epoch began(8)
//	go/ conv hlc id             (empty) group ops in replay order
//	a/ conv hlc id              key ID: every envelope of a group, for sync
//	f/ fileID                   file transfer: the offer, its key and hashes, the state (JSON)
//	s/ peer                     what one stranger's records take: count(8) bytes(8); gone once accepted
//	i/ clientID                 envelope ID a send with this idempotency key stored (local only)
//	p/ conv id                  key ID: our queued group message, held by no member we know of
//	mg/ peer                    a contact's latest mailbox grant, by the grant's HLC (JSON; grants.go)
//	od/ peer 0x00 id            (empty) this outbox entry is held by a mailbox of peer; gone with the entry
//	ggr/ conv member 0x00 hlc id a member's mailbox grant to a group: key ID and mailboxes (JSON; group_grants.go)
//	ggd/ id owner 0x00 mailbox  (empty, TTL 31 days) we deposited this group envelope for owner at that mailbox
//	gcr/ conv id member         delivered HLC(8) read HLC(8): the earliest receipts of member for message id (group_receipts.go; no migration: new)
//	pi/ peer                    pending contact: a short invite whose owner was not reachable yet (JSON; pending_invites.go)
//	bk/p/ peer                  a peer the user blocked: when, and whether blocking revoked its mailbox capability (JSON; block.go)
//	bk/c/ conv                  a conversation's mute (until), archive and pin, when not all off (JSON; block.go)
//	tmc/ conv hlc id            (empty) a disappearing-messages timer of conv, in (HLC, ID) order (timer.go)
//	tme/ expires-at(8, ms) id   (empty) a text or file that expires then; the sweeper seeks the first (timer.go)
//	meta/mailbox-accounts       how many owners this node is a mailbox for (mailbox.go)
//	xa/ owner                   mailbox account: the owner's registration, usage and next seq (binary)
//	xm/ owner seq               mail held for owner: stored-at(8) envelope, in arrival order
//	xi/ owner id                its seq, to find it by ID; after an ack a tombstone with a TTL
//	prs/ peer                   a contact's last seen, Unix ms(8): only for contacts who share it (presence.go)
//	sx/w/ word 0x00 ^hlc id     (empty) search posting: a word of the message's text or of an edit (search.go)
//	sx/e/ target                edit IDs (32 bytes each) stored before their target, indexed when it comes
//	sx/p/ id                    (empty) a purged message whose postings are not dropped from the disk yet
//	sx/b                        how far the backfill of a store from before the index got: a record ID, or "done"
//
// The sx/ keys are the full-text search index (search.go): a posting's key
// holds the word itself, so a purge drops its postings from the disk like
// the record. They needed no migration: a background backfill indexes an
// older store, resumably.
//
// owner is a 32-byte owner ID (SHA-256 of the owner's identity key). The
// x* prefixes are the mailbox's (node/mailbox): envelopes held for others,
// never opened, apart from everything above. They needed no migration.
//
// Peer IDs never contain 0x00, so it safely ends them. The outbox sequence
// is one counter per store, written in the same transaction as the entry, so
// queue order survives restarts without gaps or reuse.
//
// # Schema
//
// meta/schema holds SchemaVersion. Open runs migrations[v] for each version
// v the store is behind, each in its own synced transaction that also bumps
// the version, and refuses a store written by a newer schema. A stored
// format changes only with a new version and its migration; each version
// keeps a data dir written by the release that introduced it
// (testdata/fixture-v<N>.tar.gz), which TestOpensTodaysFixture opens.
package storage
