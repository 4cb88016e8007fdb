// Package pubsub will carry Parley's group chats on GossipSub. Today it
// provides the router that every group topic will share, configured as the
// architecture requires: no pubsub-level signatures
// (StrictNoSign: authors are signed inside the group ciphertext, so
// non-members learn nothing), message IDs that are the hash of the data (so
// one envelope arriving twice is one message), a size cap, and GossipSub
// v1.1 peer scoring with explicit parameters (it is off unless set).
//
// Not here yet (issue 3): per-group topics, validators, group keys and
// epochs, membership. The node does not start a router until groups exist.
package pubsub
