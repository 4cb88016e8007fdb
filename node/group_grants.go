package node

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/node/mailbox"
	ppb "github.com/parley-im/parley/pb"
	"github.com/parley-im/parley/pubsub"
	"github.com/parley-im/parley/storage"
)

// Group-scoped mailbox grants (PROTOCOL.md §9.10). A member tells every
// member of a group its mailboxes in a GroupMailboxGrant, an envelope of
// the group (sealed under its key: only members read it), with one
// capability per mailbox issued for the group and the epoch of the key
// that seals it (mailbox.GroupCapability). So a member can deposit for
// members who are not its contacts, and one removed from the group (the
// group rekeys) loses every member's capability: each member grants again
// under the new key and registers the old epochs' nonces as revoked.
//
// Grants must reach members who are never online with their author, so
// they travel like texts through mailboxes, and members pass them on: a
// member that learns a new grant deposits it for every other member it
// holds a capability from, and deposits for its author what that member
// may have missed (our grant, the others' grants, our recent texts and
// files). Each group envelope is deposited at most once per member per
// mailbox (storage ggd/ marks).

const (
	// groupGrantInterval is how often the node checks that its grant to
	// each group is current and its mailboxes know which group
	// capabilities are revoked, beyond doing so when something changes.
	groupGrantInterval = 30 * time.Second
	// maxGroupRevocations bounds the group nonces a registration revokes
	// (the newest epochs first), leaving room under the mailbox's 1,024
	// for per-contact revocations.
	maxGroupRevocations = 512
	// maxRevokedContacts bounds the contacts whose capabilities the user
	// revokes (mailbox_revoke.go): the rest of the 1,024.
	maxRevokedContacts = mailbox.MaxRevoked - maxGroupRevocations
	// groupCatchUpMessages and groupCatchUpAge bound what a member
	// deposits of its own for a member whose new grant it learns.
	groupCatchUpMessages = 256
	groupCatchUpAge      = 30 * 24 * time.Hour
	// maxForwardGroup: in bigger groups, members do not pass on each
	// other's grants (each member's deposit of its own grant must do),
	// since every member forwarding every grant costs members² deposits.
	maxForwardGroup = 32
	// groupGrantJobs bounds the grants waiting to be passed on.
	groupGrantJobs = 256
)

// groupGrants is the node's state for group grants.
type groupGrants struct {
	kick chan struct{}      // capacity 1: check grants and revocations now
	jobs chan groupGrantJob // others' new grants to pass on
	mu   sync.Mutex         // guards registered
	// registered: per mailbox, a digest of the group nonces its
	// registration revokes (in memory: on start every mailbox registers
	// again once).
	registered map[string][sha256.Size]byte
}

// groupGrantJob is a member's new grant to a group, to pass on.
type groupGrantJob struct {
	group parley.ConversationID
	from  peer.ID
	id    parley.EnvelopeID
}

func newGroupGrants() *groupGrants {
	return &groupGrants{
		kick:       make(chan struct{}, 1),
		jobs:       make(chan groupGrantJob, groupGrantJobs),
		registered: make(map[string][sha256.Size]byte),
	}
}

// kickGroupGrants has the grant loop check our grants now (our mailboxes,
// a group or its keys changed).
func (n *Node) kickGroupGrants() {
	if n.gg == nil {
		return
	}
	select {
	case n.gg.kick <- struct{}{}:
	default:
	}
}

// groupGrantLoop keeps our grants current and passes on others' until the
// node closes.
func (n *Node) groupGrantLoop() {
	defer n.wg.Done()
	tick := time.NewTicker(groupGrantInterval)
	defer tick.Stop()
	n.mailOwnGrants()
	for {
		n.syncGroupGrants(n.ctx)
		select {
		case <-n.ctx.Done():
			return
		case <-tick.C:
		case <-n.gg.kick:
		case j := <-n.gg.jobs:
			n.passOnGrant(n.ctx, j)
		}
	}
}

// syncGroupGrants grants our mailboxes anew to every group where our
// grant is out of date (none yet, our mailboxes changed, or a new epoch),
// and registers again at every mailbox whose revoked group nonces changed.
func (n *Node) syncGroupGrants(ctx context.Context) {
	list := n.mailboxList()
	for _, g := range n.groups.Active() {
		if ctx.Err() != nil {
			return
		}
		if err := n.grantToGroup(g, list); err != nil && !errors.Is(err, parley.ErrNotMember) && !errors.Is(err, parley.ErrRekeying) {
			n.log.Info("group grants: granting our mailboxes to a group", "group", g, "err", err)
		}
	}
	for _, mb := range list {
		if ctx.Err() != nil {
			return
		}
		if err := n.registerRevocations(ctx, mb); err != nil {
			n.log.Info("group grants: registering revoked group capabilities", "mailbox", mb.PeerID, "err", err)
		}
	}
}

// mailOwnGrants has our grant in force in each group deposited for the
// members who may lack it (the node may have stopped before it was), once
// a start: the marks keep it from being deposited twice.
func (n *Node) mailOwnGrants() {
	self := n.host.ID().String()
	for _, g := range n.groups.Active() {
		mine, err := n.store.GroupGrantOf(g, self)
		if err != nil {
			continue
		}
		if m, err := n.store.Message(mine.ID); err == nil {
			n.queueGroupMail(m)
		}
	}
}

// grantToGroup publishes our grant to group g unless the one in force is
// of the current epoch and names our mailboxes as they are.
func (n *Node) grantToGroup(g parley.ConversationID, list []storedMailbox) error {
	self := n.host.ID()
	if !n.groups.IsMember(g, self) {
		return nil
	}
	epoch, _, ok := n.groups.Epoch(g)
	if !ok {
		return nil
	}
	mine, err := n.store.GroupGrantOf(g, self.String())
	switch {
	case errors.Is(err, parley.ErrNotFound):
		if len(list) == 0 {
			return nil // nothing granted, nothing to grant
		}
	case err != nil:
		return err
	default:
		if string(mine.KeyID) == string(epoch.ID[:]) && sameMailboxes(mine.Mailboxes, list) {
			return nil
		}
	}
	msg, err := n.groups.PublishMailboxGrant(g, func(epoch [identity.KeyIDSize]byte) (*ppb.GroupMailboxGrant, error) {
		return n.groupGrantFor(g, epoch, list)
	})
	if err != nil {
		return err
	}
	n.log.Debug("granted our mailboxes to a group", "group", g, "mailboxes", len(list))
	n.queueGroupMail(msg)
	return nil
}

// sameMailboxes reports whether a grant names exactly the mailboxes of
// list, with the same addresses.
func sameMailboxes(granted []storage.GrantedMailbox, list []storedMailbox) bool {
	want := min(len(list), identity.MaxGrantMailboxes)
	if len(granted) != want {
		return false
	}
	for i, g := range granted {
		if g.PeerID != list[i].PeerID || len(g.Addrs) > len(list[i].Addrs) || !slices.Equal(g.Addrs, list[i].Addrs[:len(g.Addrs)]) {
			return false
		}
	}
	return true
}

// groupGrantFor is our grant to group g under the epoch key epoch: each
// mailbox with the group capability of that epoch.
func (n *Node) groupGrantFor(g parley.ConversationID, epoch [identity.KeyIDSize]byte, list []storedMailbox) (*ppb.GroupMailboxGrant, error) {
	owner, err := mailbox.OwnerOf(n.id.Key.GetPublic())
	if err != nil {
		return nil, err
	}
	out := new(ppb.GroupMailboxGrant)
	for _, mb := range list {
		if len(out.Mailboxes) == identity.MaxGrantMailboxes {
			break
		}
		id, err := peer.Decode(mb.PeerID)
		if err != nil {
			continue
		}
		key, err := mailbox.DeriveDepositKey(n.id.Key, id, mb.Generation)
		if err != nil {
			return nil, err
		}
		out.Mailboxes = append(out.Mailboxes, grantedMailbox(id, mb.Addrs, mailbox.GroupCapability(key, owner, g, epoch)))
	}
	return out, nil
}

// groupRevocations is the group nonces our registration at a mailbox
// revokes: every epoch of a group we are in but the current one, and
// every epoch of a group we are no longer in, newest first, at most
// maxGroupRevocations.
func (n *Node) groupRevocations(depositKey [mailbox.DepositKeySize]byte) [][mailbox.NonceSize]byte {
	type revoked struct {
		hlc   parley.HLC
		nonce [mailbox.NonceSize]byte
	}
	if n.groups == nil {
		return nil
	}
	var all []revoked
	for _, g := range n.groups.GroupIDs() {
		state, err := n.groups.State(g)
		if err != nil || state == parley.GroupInvited {
			continue // we granted nothing there (yet)
		}
		current, others, ok := n.groups.Epoch(g)
		if ok && state != parley.GroupJoined {
			others = append(others, current)
		}
		for _, e := range others {
			all = append(all, revoked{e.HLC, mailbox.GroupNonce(depositKey, g, e.ID)})
		}
	}
	slices.SortFunc(all, func(a, b revoked) int {
		return cmp.Or(cmp.Compare(b.hlc, a.hlc), slices.Compare(a.nonce[:], b.nonce[:]))
	})
	out := make([][mailbox.NonceSize]byte, 0, min(len(all), maxGroupRevocations))
	for _, r := range all[:min(len(all), maxGroupRevocations)] {
		out = append(out, r.nonce)
	}
	return out
}

// registerRevocations registers at mb again when the group nonces to
// revoke there changed since we last registered.
func (n *Node) registerRevocations(ctx context.Context, mb storedMailbox) error {
	info, err := mb.addrInfo()
	if err != nil {
		return err
	}
	key, err := mailbox.DeriveDepositKey(n.id.Key, info.ID, mb.Generation)
	if err != nil {
		return err
	}
	digest := revocationDigest(n.groupRevocations(key))
	n.gg.mu.Lock()
	held, known := n.gg.registered[mb.PeerID]
	n.gg.mu.Unlock()
	if known && held == digest || !known && digest == revocationDigest(nil) {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, mailboxRoundTimeout)
	defer cancel()
	if err := n.registerMailbox(rctx, info); err != nil {
		return err
	}
	n.gg.mu.Lock()
	n.gg.registered[mb.PeerID] = digest
	n.gg.mu.Unlock()
	return nil
}

// noteRegistered records the group nonces a registration at mb just
// revoked (register calls it).
func (n *Node) noteRegistered(mb peer.ID, revoked [][mailbox.NonceSize]byte) {
	if n.gg == nil {
		return
	}
	n.gg.mu.Lock()
	n.gg.registered[mb.String()] = revocationDigest(revoked)
	n.gg.mu.Unlock()
}

func revocationDigest(nonces [][mailbox.NonceSize]byte) [sha256.Size]byte {
	h := sha256.New()
	for _, x := range nonces {
		h.Write(x[:])
	}
	return [sha256.Size]byte(h.Sum(nil))
}

// onGroupGrant keeps a member's grant to a group (pubsub.Config.
// OnMailboxGrant), and has a new one passed on.
func (n *Node) onGroupGrant(g parley.ConversationID, from peer.ID, msg parley.Message, grant *ppb.GroupMailboxGrant) error {
	raw, err := n.store.Envelope(msg.ID)
	if err != nil {
		return err
	}
	env, err := identity.ParseEnvelope(raw)
	if err != nil {
		return err
	}
	gg := storage.GroupGrant{Member: from.String(), HLC: msg.HLC, ID: msg.ID, KeyID: env.KeyId}
	for i, m := range grant.GetMailboxes() {
		id, err := peer.IDFromBytes(m.GetPeerId())
		if err != nil {
			return fmt.Errorf("%w: group grant mailbox %d: peer ID: %v", parley.ErrMalformed, i, err)
		}
		gm := storage.GrantedMailbox{PeerID: id.String(), Nonce: m.GetNonce(), Token: m.GetToken()}
		for _, raw := range m.GetAddrs() {
			if a, err := ma.NewMultiaddrBytes(raw); err == nil {
				gm.Addrs = append(gm.Addrs, a.String())
			}
		}
		gg.Mailboxes = append(gg.Mailboxes, gm)
	}
	newest, err := n.store.PutGroupGrant(g, gg)
	if err != nil || !newest || from == n.host.ID() || n.gg == nil {
		return err
	}
	select {
	case n.gg.jobs <- groupGrantJob{group: g, from: from, id: msg.ID}:
	default:
		n.log.Info("group grants: too many grants waiting to be passed on; this one goes by gossip and sync only", "group", g)
	}
	return nil
}

// passOnGrant deposits a member's new grant for the other members we
// cannot reach, and deposits for that member what it may lack: our grant,
// the other members' grants, our recent texts and files.
func (n *Node) passOnGrant(ctx context.Context, j groupGrantJob) {
	self := n.host.ID()
	if !n.groups.IsMember(j.group, self) || !n.groups.IsMember(j.group, j.from) {
		return
	}
	members := n.groups.MemberPeers(j.group)
	forward := len(members) < maxForwardGroup
	raw, err := n.store.Envelope(j.id)
	if err != nil {
		n.log.Info("group grants: reading a grant to pass on", "group", j.group, "err", err)
		return
	}
	if forward {
		for _, p := range members {
			if p == j.from || n.host.Network().Connectedness(p) == network.Connected {
				continue
			}
			if _, err := n.depositGroupEnvelope(ctx, j.group, p, j.id, raw); err != nil {
				n.log.Info("group grants: passing on a member's grant", "group", j.group, "member", p, "err", err)
			}
		}
	}
	if n.host.Network().Connectedness(j.from) == network.Connected {
		return // it syncs with us
	}
	var ids []parley.EnvelopeID
	grants, err := n.store.GroupGrants(j.group, true)
	if err != nil {
		n.log.Info("group grants: listing grants", "group", j.group, "err", err)
	}
	for _, gr := range grants {
		if gr.Member == self.String() || forward && gr.Member != j.from.String() {
			ids = append(ids, gr.ID)
		}
	}
	msgs, err := n.store.MessagesIn(j.group, parley.Page{Limit: groupCatchUpMessages})
	if err != nil {
		n.log.Info("group grants: listing our messages", "group", j.group, "err", err)
	}
	since := time.Now().Add(-groupCatchUpAge)
	for _, m := range msgs {
		if m.Outgoing && m.SentAt().After(since) {
			ids = append(ids, m.ID)
		}
	}
	for _, id := range ids {
		if ctx.Err() != nil {
			return
		}
		raw, err := n.store.Envelope(id)
		if err != nil {
			continue
		}
		if _, err := n.depositGroupEnvelope(ctx, j.group, j.from, id, raw); err != nil {
			n.log.Info("group grants: catching a member up through its mailboxes", "group", j.group, "member", j.from, "err", err)
		}
	}
}

// groupMailboxesOf is where we may deposit for a member of group g: each
// mailbox of its newest grant to the group (while it is a member) and of
// its grant to us as a contact, one capability per mailbox, the group's
// first.
func (n *Node) groupMailboxesOf(g parley.ConversationID, member peer.ID) ([]storage.GrantedMailbox, error) {
	var out []storage.GrantedMailbox
	if n.groups.IsMember(g, member) {
		gg, err := n.store.GroupGrantOf(g, member.String())
		if err != nil && !errors.Is(err, parley.ErrNotFound) {
			return nil, err
		}
		out = append(out, gg.Mailboxes...)
	}
	if n.isContact(member) {
		dg, err := n.store.MailboxGrantOf(member.String())
		if err != nil && !errors.Is(err, parley.ErrNotFound) {
			return nil, err
		}
		for _, mb := range dg.Mailboxes {
			if !mb.Refused && !slices.ContainsFunc(out, func(x storage.GrantedMailbox) bool { return x.PeerID == mb.PeerID }) {
				out = append(out, mb)
			}
		}
	}
	return out, nil
}

// depositGroupEnvelope leaves a group envelope for member at each of its
// mailboxes that does not hold it from us yet, and marks each that takes
// it. held: at least one mailbox holds it (now or before).
func (n *Node) depositGroupEnvelope(ctx context.Context, g parley.ConversationID, member peer.ID, id parley.EnvelopeID, env []byte) (held bool, err error) {
	mbs, err := n.groupMailboxesOf(g, member)
	if err != nil {
		return false, err
	}
	var errs []error
	for _, mb := range mbs {
		done, err := n.store.GroupDeposited(id, member.String(), mb.PeerID)
		if err != nil {
			return held, err
		}
		if done {
			held = true
			continue
		}
		// A small file's chunks go first (mail_files.go), so a mailbox
		// that holds the offer holds the whole file.
		err = n.depositChunksAt(ctx, member, mb, id)
		if err == nil {
			dctx, cancel := context.WithTimeout(ctx, groupDepositTimeout)
			err = n.depositAt(dctx, member, mb, env)
			cancel()
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		held = true
		if err := n.store.MarkGroupDeposited(id, member.String(), mb.PeerID); err != nil {
			return held, err
		}
	}
	return held, errors.Join(errs...)
}

// groupsConfigHooks wires group grants into the groups service's config.
func (n *Node) groupsConfigHooks(cfg *pubsub.Config) {
	cfg.OnMailboxGrant = n.onGroupGrant
	cfg.OnEpoch = func(parley.ConversationID) { n.kickGroupGrants() }
}
