// Package pubsub runs Parley's group chats. Group envelopes travel on
// GossipSub (go-libp2p-pubsub, imported here as gossipsub); this package
// keeps each group's keys, operations and membership, seals what we write,
// and checks and stores what arrives, live from the topic or in bulk from
// sync.
//
// # What it provides
//
//   - Router (router.go): the one GossipSub router a node's groups share,
//     with no pubsub-level signatures or author (StrictNoSign, NoAuthor:
//     authors are signed inside the ciphertext, so non-members learn
//     nothing), message IDs that hash the data (one envelope arriving twice
//     is one message), a size cap, flood publishing, and GossipSub v1.1
//     peer scoring with every parameter written out.
//   - Groups (service.go): the service. NewGroups loads every stored group
//     and joins the topics of those we are in; Close leaves them. Its calls
//     are grouped by concern: views.go (Resolve, View, List, Members,
//     Messages, and what sync asks: MemberPeers, MaySync, KeyIDs), ops.go
//     (Create, Invite, Accept, Decline, Leave, Remove, Rename, SetRole),
//     send.go (Send, SendFile), ingest.go (the topic validator, Ingest for
//     sync, OnGroupKeys for keys that came by DM).
//   - State and Replay (state.go): membership computed from the group's ops.
//   - TopicName and RendezvousKey (topic.go): the names a group is known by
//     on the wire, both hashes of its ID; topic.go also joins and leaves a
//     topic and holds the topic's score parameters and per-peer rate limit.
//
// # From Send to a member's disk
//
// The node's Messenger.SendToGroup (node/messenger_groups.go) resolves the
// group's name and calls Groups.Send, which checks the text
// (parley.CheckText: this is the one place) and that we are still a member.
// write then encodes the body and seals it under the current epoch's key
// (identity.SealEnvelope: sender, HLC and body, signed with the sender's
// Ed25519 key, inside an XChaCha20-Poly1305 ciphertext; outside only the
// group ID, the key ID and a nonce), stores it in our own store, and only then publishes it on the group's
// topic. A message no one was on the topic to receive stays "queued" and
// reaches members through sync; "sent" means someone on the topic got it
// (groups have no per-member acknowledgement).
//
// On each member the topic's validator runs before GossipSub forwards
// anything: a per-peer rate limit, the size cap, then decrypt (the envelope
// parses, is for this group, is sealed under an epoch key we hold, opens
// and verifies, and is dated within ReplayWindow), admit (its author was a
// member at its HLC as the ops say) and keep (stored in one batch, the
// clock observes its HLC, file offers go to Config.OnFileOffer, ops are
// applied, the user is notified). It stores before it accepts, so whatever
// we forward is already on our disk.
//
// What the topic missed (we were offline, the mesh was still forming, the
// peer is reachable only through a relay, which GossipSub does not use)
// comes by sync: the node's scheduler (node/group_sync.go) runs the catch-up
// protocol (node/catchup) with members, reading our side through
// node/group_log.go and handing what the peer sends to Ingest, which runs
// the same checks without the replay window.
//
// # Keys and epochs
//
// A group key is 32 random bytes named by a hash that binds it to the group
// (identity.GroupKeyID). Create makes the first; every epoch after begins
// with a fresh key (rekey): the admin who removes a member rekeys at once,
// and a member's leave makes every admin who sees it rekey (the newest key
// wins everywhere). A new epoch's key goes only to the members left, so
// someone removed cannot read what is written after. Keys travel in
// pb.GroupKeys bodies over the DM protocol (Config.SendKeys); an invite
// carries the group's keys (the newest identity.MaxGroupKeys), so a
// newcomer reads the history.
// Keys are taken only from an admin (or, before we hold the ops, from
// whoever invited us); keys from a peer not yet known as an admin are held
// in memory until an op settles it.
//
// # Membership
//
// Group operations (create, add, remove, leave, rename, role) are envelopes
// like any other, so they travel and sync the same way. Replay applies
// them in (HLC, envelope ID) order, each only if its author was entitled to
// it at that point; every member holding the same ops computes the same
// membership, whatever order they arrived in (see State).
//
// # Validation results
//
// The validator answers as go-libp2p-pubsub expects. Reject: the envelope
// itself is at fault (oversized, malformed, forged, of another group, under
// an unknown epoch, out of the replay window, written by someone who was
// not a member then);
// GossipSub scores its sender down (topic.go's P4 weights). Ignore: we
// cannot judge it yet (the ops that make its author a member have not
// reached us), we already had it, the sender is over its rate, or storing
// failed here; no one is penalised and sync brings it again if needed.
// Accept: stored, forward it.
//
// # What it does not do
//
// It does not find or dial members, advertise groups in the DHT or run
// sync sessions (the node does: node/group_sync.go), deliver keys itself
// (Config.SendKeys, the node's DM service), or serve files (the node's
// files service, told through Config.OnFileOffer). Groups send no read or
// delivery receipts. An epoch key opens everything sealed under it: there
// is no forward secrecy within an epoch, and a member who leaves keeps what
// they already read.
package pubsub
