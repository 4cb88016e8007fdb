// Package dm delivers one-to-one messages over /parley/dm/1.0.0.
//
// Delivery is push with an outbox (PROTOCOL.md §4, docs/design-notes.md):
//
//   - Send seals the body (identity.SealEnvelope), stores the envelope, the
//     message and an outbox entry in one synced write, and only then returns.
//   - A courier per peer drains that peer's outbox over a stream: it pushes
//     batches of envelopes and removes each one only when the peer's Ack
//     answers for it: stored (delivered), or refused for good (failed). It
//     runs when a message is queued, when the peer connects, and on a
//     back-off timer while the peer is unreachable; once the outbox is empty
//     and nothing came for Config.CourierIdle, it retires. A crash at any
//     point loses nothing; a retry after a lost ack is a no-op on the receiver,
//     because envelopes are content-addressed.
//   - The receiver checks every envelope (addressed to us, sealed under a key
//     the sender established, signed by the stream's remote peer), stores the
//     batch with one synced write, and then acks. What a stranger (a peer
//     who is not an accepted contact) sends counts against
//     Config.StrangerQuota in that same write; past it, it is refused.
//
// Keys: the first envelopes under a new sending key carry its HPKE
// encapsulation (and the sender's contact card) until the recipient has
// acknowledged one of them; after that envelopes carry only the key ID.
// Sending keys live in memory and rotate every KeyRotateMessages messages or
// KeyRotateAge, and on every restart; receiving keys are kept in the store.
//
// Mailboxes (PROTOCOL.md §9.9): a contact's MailboxGrant is kept, the
// newest by HLC, from accepted contacts only. A courier whose attempt
// fails deposits the peer's undelivered envelopes at the peer's granted
// mailboxes (Config.Deposit), once each, keeping them queued for direct
// delivery; they become StatusStored. Receive takes envelopes fetched from
// our own mailboxes through the push path; a receipt, however it came,
// settles the outbox as an ack would.
//
// What this package does not do: group delivery (package pubsub),
// anti-entropy sync, the mailbox protocol itself (node/mailbox: this
// package reaches it only through Config.Deposit).
package dm
