// Package catchup reconciles a conversation between two of its members over
// /parley/sync/1.0.0, so that a member who was offline catches up from any
// other member and a network partition heals (PROTOCOL.md, "Sync").
//
// A conversation is an append-only set of envelopes, each named by its ID
// (SHA-256 of its bytes) and ordered by (HLC, ID). A session leaves both
// sides holding the union of their sets, restricted to envelopes sealed
// under keys both hold: the only ones either could use. The node supplies
// the set through Log and decides who may sync what through Config.Open.
//
// # Algorithm
//
// Range-based set reconciliation, after Negentropy. A range is an HLC
// interval [lo, hi) (hi 0: unbounded) and a side describes its items in
// it either by a FINGERPRINT (count, and SHA-256 of the IDs in order then
// the count) or by listing their IDS. The initiator opens with the
// conversation and its key IDs; the responder answers with the keys both
// hold and a description of its whole set. From then on frames strictly
// alternate, and each side answers the other's ranges:
//
//   - FINGERPRINT equal to ours: nothing to do.
//   - We hold nothing there: IDS with no IDs; the peer pushes its items.
//   - The peer holds nothing there: we push ours, no answer.
//   - We hold at most 64 (leafSize): IDS with our IDs.
//   - Otherwise we split our items into 2 to 16 sub-ranges of about equal
//     count and answer their fingerprints. Boundaries are HLC values, so
//     items that share an HLC stay together; a range whose items all share
//     one HLC cannot be split and is listed instead, up to 4,096 IDs.
//   - IDS from the peer: the diff is exact. We push our items the peer did
//     not list and want the listed ones we lack; if we hold more than 4,096
//     there we split instead, to bound what one answer may queue.
//
// Unchanged parts of the history cost one fingerprint each, at the highest
// level where they match; the cost of a session grows with the difference
// (times the depth, log16 of the history), not with the history.
//
// Wants and pushes: a want is honoured only for an ID we listed and only
// once, so a peer cannot fetch envelopes under keys it lacks or make us
// send one twice. Queues hold IDs (32 bytes), never envelope bytes, which
// are read from the Log as frames are built: at most 1 MiB of envelopes
// per frame, always at least one.
//
// Deferral: answers do not always fit one frame (a wide range tree with
// many differences). Each frame says how many of the receiver's ranges it
// answers, counted from the last one sent, so ranges may wait for a later
// frame and both sides still agree on which are open. Ranges are answered
// last first: the descent is depth first, and the ranges waiting stay
// about one frame's worth per level instead of a whole level of the tree.
//
// End: a side that reads a frame with no ranges, wants or envelopes and
// has nothing to send closes its side of the stream; the other reads EOF
// right after its own empty frame. Identical sets cost one frame each way
// and the close.
//
// # Bounds
//
// Everything a peer sends is checked in one place, checkMessage: field
// sizes, counts, which fields appear in which frame, and that every range
// answers one of ours in an allowed shape (inside it, tiling it, strictly
// smaller when split), so a peer can only make us work on what we asked
// and each range at most once. A violation resets the stream. Limits:
// frames of 4 MiB, 1,024 ranges and 4,096 wants per frame, 4,096 IDs per
// range, 16 sub-ranges per split, 10,000 frames and 5 minutes per session,
// 30 seconds per frame, 16 rejected envelopes per session, 65,536 of the
// peer's ranges (1M IDs) waiting, 1M envelopes wanted and not received,
// and 4 inbound sessions per peer, 32 in all. Memory per session is
// therefore a few MiB plus some 50 bytes per envelope ID listed, pushed or
// wanted in it.
//
// Limitation: only 4,096 envelopes sharing one HLC value take part in a
// session. Honest clocks never issue an HLC twice, so only a member
// flooding one timestamp reaches this, and only that timestamp suffers.
//
// What this package does not do: decide when to sync or with whom (the
// node does, on new connections and periodically), check envelopes (Log's
// Accept does), or carry envelopes for non-members.
package catchup
