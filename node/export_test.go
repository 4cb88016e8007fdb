package node

import "github.com/parley-im/parley/storage"

// SecurityOptions lets benchmarks build raw go-libp2p baselines on the
// same connection security as a node's.
var SecurityOptions = securityOptions

// OutboxLen is how many envelopes n holds for peer.
func (n *Node) OutboxLen(peer string) (int, error) { return n.store.OutboxLen(peer) }

// StrangerUsage is what one stranger's messages take in n's store, and
// what all strangers' take.
func (n *Node) StrangerUsage(peer string) (own, total storage.Usage, err error) {
	return n.store.StrangerUsage(peer)
}
