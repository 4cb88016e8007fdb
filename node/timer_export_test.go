package node

import "github.com/parley-im/parley"

// SweepNow has the expiry sweeper look at what is due now: a test that
// moved Config.ExpiryClock forward calls it, as a real clock's timer
// would fire.
func (n *Node) SweepNow() { n.expiry.nudge() }

// SetGroupTimerUnchecked sets a group's timer without the admin check
// SetTimer makes: how a misbehaving member would.
func (n *Node) SetGroupTimerUnchecked(g parley.ConversationID, seconds uint32) (parley.Message, error) {
	return n.groups.SetTimer(g, seconds)
}

// ReclaimStore runs the store's value-log GC and compaction (as the
// sweeper does after expiries), so that a test scans what is left after
// them.
func (n *Node) ReclaimStore() error { return n.store.Reclaim() }
