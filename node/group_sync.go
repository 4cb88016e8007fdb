package node

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/pubsub"
)

// Keeping groups whole. Pubsub carries what members say while they are
// connected; everything else is sync's job (package catchup): a member
// syncs a group with a member when either connects, when the group becomes
// active here, and every GroupSyncInterval with a few connected members.
// A member stays connected with a bounded set of the others (group_peers.go),
// dialling (known addresses, else the DHT) only while fewer are connected;
// members advertise the group's rendezvous key in the DHT so an invitee
// finds someone to catch up from even when the inviter is offline.
const (
	defaultGroupSyncInterval = 30 * time.Second
	// syncPeersPerRound bounds the periodic sessions per group and round.
	syncPeersPerRound = 3
	// maxSyncSessions bounds the sync sessions we run at once.
	maxSyncSessions = 4
	syncTimeout     = 2 * time.Minute
	// rendezvousEvery: the DHT is asked (and told) about a group at
	// activation and then this often.
	rendezvousEvery = 5 * time.Minute
	rendezvousPeers = 20
)

// groupSync schedules sync sessions and member discovery.
type groupSync struct {
	n        *Node
	interval time.Duration
	peers    int                        // members kept per group; 0: groupPeerBound's default
	kick     chan parley.ConversationID // groups to work on now
	fresh    chan struct{}              // news holds groups to push
	sem      chan struct{}              // maxSyncSessions tokens

	mu       sync.Mutex
	inflight map[syncPair]bool                   // guarded by mu
	pending  map[syncPair]bool                   // guarded by mu: to run again once a slot frees
	news     map[parley.ConversationID]bool      // guarded by mu: groups with news for pushRelayed
	lastRdv  map[parley.ConversationID]time.Time // guarded by mu
	// dials: members we could not reach, each on a back-off like offline
	// contacts, so a member gone for days costs one lookup per
	// maxReconnectBackoff, not one per round.
	dials map[peer.ID]*reconnectState // guarded by mu
	// kept: each group's protected members; dialing counts each group's
	// dials under way.
	kept    map[parley.ConversationID]map[peer.ID]bool // guarded by mu
	dialing map[parley.ConversationID]int              // guarded by mu
}

type syncPair struct {
	group parley.ConversationID
	peer  peer.ID
}

func newGroupSync(n *Node, interval time.Duration, peers int) *groupSync {
	if interval <= 0 {
		interval = defaultGroupSyncInterval
	}
	return &groupSync{
		n:        n,
		interval: interval,
		peers:    peers,
		kept:     make(map[parley.ConversationID]map[peer.ID]bool),
		dialing:  make(map[parley.ConversationID]int),
		kick:     make(chan parley.ConversationID, 64),
		fresh:    make(chan struct{}, 1),
		news:     make(map[parley.ConversationID]bool),
		sem:      make(chan struct{}, maxSyncSessions),
		inflight: make(map[syncPair]bool),
		pending:  make(map[syncPair]bool),
		lastRdv:  make(map[parley.ConversationID]time.Time),
		dials:    make(map[peer.ID]*reconnectState),
	}
}

// activate asks for a round on one group soon. It never blocks: a full
// queue means a round is coming anyway.
func (gs *groupSync) activate(id parley.ConversationID) {
	select {
	case gs.kick <- id:
	default:
	}
}

// run is the scheduler loop; it returns when the node closes.
func (gs *groupSync) run() {
	defer gs.n.wg.Done()
	tick := time.NewTicker(gs.interval)
	defer tick.Stop()
	for _, id := range gs.n.groups.Active() {
		gs.round(id)
	}
	for {
		select {
		case <-gs.n.ctx.Done():
			return
		case id := <-gs.kick:
			gs.round(id)
		case <-gs.fresh:
			gs.mu.Lock()
			news := gs.news
			gs.news = make(map[parley.ConversationID]bool)
			gs.mu.Unlock()
			for id := range news {
				gs.pushRelayed(id)
			}
		case <-tick.C:
			active := gs.n.groups.Active()
			for _, id := range active {
				gs.round(id)
			}
			gs.forgetLeft(active)
		}
	}
}

// round syncs a group with a few connected members, keeps a bounded set
// of members connected (dialling only to fill it), and now and then looks
// the group up in the DHT.
func (gs *groupSync) round(id parley.ConversationID) {
	n := gs.n
	now := time.Now()
	gs.mu.Lock()
	dialing := gs.dialing[id]
	gs.mu.Unlock()
	members := n.groups.MemberPeers(id)
	plan := planGroupPeers(n.host.ID(), id, members, gs.groupPeerBound(len(members)), dialing,
		func(p peer.ID) bool { return reachable(n.host.Network().Connectedness(p)) },
		n.isContact,
		func(p peer.ID) bool { return gs.dialDue(p, now) })
	gs.mu.Lock()
	for _, p := range plan.connected {
		delete(gs.dials, p)
	}
	gs.mu.Unlock()
	gs.protectGroupPeers(id, plan.keep)
	for _, p := range plan.dial {
		gs.dialMember(id, p)
	}
	inviter, _ := n.groups.Inviter(id)
	for _, p := range syncPicks(plan.connected, inviter, syncPeersPerRound) {
		gs.syncWith(id, p)
	}
	gs.mu.Lock()
	due := time.Since(gs.lastRdv[id]) >= rendezvousEvery
	if due {
		gs.lastRdv[id] = time.Now()
	}
	gs.mu.Unlock()
	if due {
		gs.rendezvous(id)
	}
}

// syncPicks chooses up to k of the connected members to sync with this
// round, at random so that rounds spread over the members, but first
// when connected: the inviter of a group we have just joined, since the
// members the invite named may not know of us yet and refuse us (then we
// would see no member until the next round).
func syncPicks(connected []peer.ID, first peer.ID, k int) []peer.ID {
	picks := slices.Clone(connected)
	rand.Shuffle(len(picks), func(i, j int) { picks[i], picks[j] = picks[j], picks[i] })
	if i := slices.Index(picks, first); first != "" && i > 0 {
		picks[0], picks[i] = picks[i], picks[0]
	}
	return picks[:min(len(picks), k)]
}

// forgetLeft drops the protection of groups we are no longer in.
func (gs *groupSync) forgetLeft(active []parley.ConversationID) {
	gs.mu.Lock()
	var gone []parley.ConversationID
	for id := range gs.kept {
		if !slices.Contains(active, id) {
			gone = append(gone, id)
		}
	}
	gs.mu.Unlock()
	for _, id := range gone {
		gs.protectGroupPeers(id, nil)
		gs.mu.Lock()
		delete(gs.kept, id)
		gs.mu.Unlock()
	}
}

// dialDue says whether to try reaching member p now, and if so pushes its
// next try back.
func (gs *groupSync) dialDue(p peer.ID, now time.Time) bool {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	st := gs.dials[p]
	if st == nil {
		if len(gs.dials) >= maxDialBackoffs {
			clear(gs.dials) // crude but bounded: everyone gets one early try
		}
		st = &reconnectState{delay: gs.interval}
		gs.dials[p] = st
	}
	if now.Before(st.next) {
		return false
	}
	st.next = now.Add(st.delay)
	st.delay = min(2*st.delay, maxReconnectBackoff)
	return true
}

// maxDialBackoffs bounds the members whose back-off is remembered.
const maxDialBackoffs = 4096

// peerConnected syncs every group p shares with us.
func (gs *groupSync) peerConnected(p peer.ID) {
	gs.mu.Lock()
	delete(gs.dials, p)
	gs.mu.Unlock()
	for _, id := range gs.n.groups.Active() {
		if gs.n.groups.MaySync(id, p) {
			gs.syncWith(id, p)
		}
	}
}

// noteEvent takes the node's events: a group's new message or change is
// news for pushRelayed. It never blocks (events come from the receive
// path).
func (gs *groupSync) noteEvent(e parley.Event) {
	var id parley.ConversationID
	switch {
	case e.Type == parley.EventMessage && e.Message != nil:
		id = e.Message.Conversation
	case e.Type == parley.EventGroup && e.Group != nil:
		id = e.Group.ID
	default:
		return
	}
	gs.mu.Lock()
	gs.news[id] = true
	gs.mu.Unlock()
	select {
	case gs.fresh <- struct{}{}:
	default:
	}
}

// pushRelayed hands a group's news to the members we reach only through
// a relay, at once. GossipSub does not use limited (relayed) connections,
// so without this a member behind a symmetric NAT would hear of a new
// message at the next round; a sync session over the relay carries it in
// a few round trips. Sessions for a pair are coalesced: one runs, and at
// most one more is queued behind it.
func (gs *groupSync) pushRelayed(id parley.ConversationID) {
	for _, p := range gs.n.groups.MemberPeers(id) {
		if gs.n.host.Network().Connectedness(p) == network.Limited {
			gs.start(syncPair{id, p}, true)
		}
	}
}

// syncWith runs one session in the background unless one with the same
// peer for the same group is running, or too many are.
func (gs *groupSync) syncWith(id parley.ConversationID, p peer.ID) {
	gs.start(syncPair{id, p}, false)
}

// start runs a session for pair in the background. When one is running
// for the pair, or too many are, it does nothing, or with again it queues
// the pair to run when a session ends.
func (gs *groupSync) start(pair syncPair, again bool) {
	gs.mu.Lock()
	if gs.inflight[pair] {
		if again {
			gs.pending[pair] = true
		}
		gs.mu.Unlock()
		return
	}
	select {
	case gs.sem <- struct{}{}:
	default:
		if again {
			gs.pending[pair] = true
		}
		gs.mu.Unlock()
		return // busy: the next round or session to end gets to it
	}
	delete(gs.pending, pair)
	gs.inflight[pair] = true
	gs.mu.Unlock()
	n := gs.n
	id, p := pair.group, pair.peer
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		defer func() {
			gs.mu.Lock()
			delete(gs.inflight, pair)
			<-gs.sem
			var next []syncPair
			for q := range gs.pending {
				if !gs.inflight[q] && len(next) < maxSyncSessions {
					next = append(next, q)
				}
			}
			gs.mu.Unlock()
			if n.ctx.Err() != nil {
				return
			}
			for _, q := range next {
				gs.start(q, true)
			}
		}()
		ctx, cancel := context.WithTimeout(n.ctx, syncTimeout)
		defer cancel()
		st, err := n.sync.Sync(ctx, p, id)
		if err != nil {
			n.log.Debug("group sync", "group", id, "peer", p, "err", err)
			return
		}
		if st.Sent+st.Received > 0 {
			n.log.Debug("group synced", "group", id, "peer", p, "sent", st.Sent, "received", st.Received, "rounds", st.Rounds)
		}
	}()
}

// rendezvous advertises the group's rendezvous key in the DHT and dials
// members found there while the group's bound leaves room, in the
// background.
func (gs *groupSync) rendezvous(id parley.ConversationID) {
	n := gs.n
	if n.dht.RoutingTable().Size() == 0 {
		return // no DHT peers: nothing to ask, and mDNS covers the LAN
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		ctx, cancel := context.WithTimeout(n.ctx, time.Minute)
		defer cancel()
		rd := drouting.NewRoutingDiscovery(n.dht)
		key := pubsub.RendezvousKey(id)
		if _, err := rd.Advertise(ctx, key); err != nil {
			n.log.Debug("advertising a group", "group", id, "err", err)
		}
		found, err := rd.FindPeers(ctx, key)
		if err != nil {
			n.log.Debug("looking a group up", "group", id, "err", err)
			return
		}
		// What we learn here is addresses; the dials stay within the
		// group's bound: members found first fill free slots at once, the
		// rest are dialled by later rounds if the set needs them.
		seen := 0
		for ai := range found {
			if ai.ID == n.host.ID() || !n.groups.MaySync(id, ai.ID) {
				continue
			}
			n.learnAddrInfo(ai)
			if !reachable(n.host.Network().Connectedness(ai.ID)) && gs.freeSlots(id) > 0 {
				gs.dialMember(id, ai.ID)
			}
			if seen++; seen >= rendezvousPeers {
				return
			}
		}
	}()
}
