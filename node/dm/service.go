package dm

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
	"google.golang.org/protobuf/proto"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/internal/inbound"
	"github.com/parley-im/parley/internal/lifetime"
	ppb "github.com/parley-im/parley/pb"
	"github.com/parley-im/parley/storage"
)

// ID is the direct-message protocol.
const ID protocol.ID = "/parley/dm/1.0.0"

// Wire limits. A Push holds at most MaxBatch envelopes and MaxFrameSize bytes;
// anything bigger is a protocol error and the stream is reset.
const (
	MaxBatch     = 256
	MaxFrameSize = 2 << 20
	// maxPushBytes keeps a courier's frames well under MaxFrameSize.
	maxPushBytes = 1 << 20
)

// Timeouts for one exchange on a stream.
const (
	// ioTimeout bounds writing a small frame and getting its answer. It is
	// short so that a connection that died silently (a peer that vanished,
	// a half-open QUIC connection) holds delivery up for seconds, not for
	// a transport's idle timeout; big frames get more (exchangeTimeout).
	ioTimeout      = 10 * time.Second
	connectTimeout = 30 * time.Second
)

// Config wires a Service. All fields but Logger and the retry bounds are
// required.
type Config struct {
	Host     host.Host
	Identity *identity.Identity
	Store    *storage.DB
	Clock    *parley.Clock
	// Card returns our current signed contact card, sent along with a new
	// key so that a stranger can answer.
	Card func() []byte
	// WriteRefused, when set, refuses every envelope this node would
	// write, before anything is stored: a linked device, until writing from
	// one is built (parley.ErrLinkedDeviceWrite).
	WriteRefused error
	// Connect finds and dials a peer: known addresses first, then the DHT.
	Connect func(ctx context.Context, p peer.ID) error
	// Notify receives events (messages stored, statuses changed, requests).
	// It must not block.
	Notify func(parley.Event)
	// OnGroupKeys takes group keys a peer sent (the groups service). An
	// error is a local failure: the envelope is not acknowledged.
	OnGroupKeys func(from peer.ID, keys *ppb.GroupKeys) error
	// OnFileOffer takes a file a peer offered, once its envelope is
	// stored (the files service). An error is a local failure.
	OnFileOffer func(conv parley.ConversationID, msg parley.EnvelopeID, from peer.ID, offer *ppb.FileOffer) error
	// OnMailboxGrant learns that a contact sent a new grant (first: the
	// first we hold from them), after it is stored. Optional.
	OnMailboxGrant func(from peer.ID, first bool)
	// Deposit leaves an envelope for a contact at one of the mailboxes the
	// contact granted us (from a one-time identity: mailbox.DepositOnce),
	// returning once the mailbox holds it. A refusal for now wraps
	// ErrMailboxBusy, one for good ErrGrantRefused. Nil: never deposit.
	Deposit func(ctx context.Context, to peer.ID, mailbox storage.GrantedMailbox, envelope []byte) error
	// DepositAttached leaves at the same mailbox, before an envelope of
	// ours, what must be there with it: a small file's chunks with its
	// offer (PROTOCOL.md §9.11). It returns nil at once when the envelope
	// has nothing attached; errors as Deposit's. Optional.
	DepositAttached func(ctx context.Context, to peer.ID, mailbox storage.GrantedMailbox, msg parley.EnvelopeID) error
	// OnFileCancel takes a peer's cancel of a file of our conversation with
	// it (the files service), applied even when stored before, as group
	// keys are. An error is a local failure.
	OnFileCancel func(conv parley.ConversationID, from peer.ID, fileID string) error
	// Judge refuses a received edit, delete or reaction its sender may
	// not make (an edit of another's message). Optional: all are taken.
	Judge func(parley.Message) error
	// Timer is the conversation's disappearing-messages timer in seconds
	// (0: off), which each text and file sent carries. Optional: none.
	Timer func(parley.ConversationID) uint32
	// OnCardUpdate takes a peer's new contact card, already checked to be
	// signed by and for that peer, with its envelope's HLC, once the
	// envelope is stored. An error is a local failure.
	OnCardUpdate func(from peer.ID, at parley.HLC, card identity.Card) error
	Logger       *slog.Logger
	// RetryMin and RetryMax bound the back-off between delivery attempts to
	// an unreachable peer. Defaults: 1s and 1m: a partition that heals is
	// noticed within a minute even when no new connection announces it.
	RetryMin, RetryMax time.Duration
	// CourierIdle is how long a peer's courier (its delivery goroutine)
	// waits with nothing to deliver before it retires; the next message
	// to that peer starts a new one. Default: 2m.
	CourierIdle time.Duration
	// StrangerQuota bounds what peers who are not accepted contacts make
	// us store; past it their envelopes are refused (REJECTED). Fields not
	// above zero take the defaults: 200 envelopes or 2 MiB (envelope and
	// record bytes, about twice the text) from each stranger, 5,000 or
	// 50 MiB from all of them together (docs/design-notes.md, "Strangers'
	// quota").
	StrangerQuota storage.Quota
	// StrangerTimeouts bound a stranger's inbound stream: waiting for a
	// frame, reading one once begun, and in all. Zero fields take
	// DefaultStrangerTimeouts'.
	StrangerTimeouts inbound.Timeouts
	// Blocked reports whether the user blocked a peer (node/block.go):
	// what it sends is dropped, acknowledged as stored, and nothing but
	// group keys is sent to it. Optional: nobody is blocked.
	Blocked func(peer.ID) bool
}

// Service sends and receives direct messages.
type Service struct {
	cfg  Config
	self peer.ID
	// selfName is self.String(), which base58-encodes on every call:
	// wanted several times for each message sent and received.
	selfName string
	log      *slog.Logger

	sessions sessions
	keys     keyCache

	// life serves the streams peers push to us on (a peer keeps one open
	// between batches) and runs the couriers; Close ends both. budget
	// counts the streams served: only handleStream's admit and release
	// touch it, under life's lock.
	life   *lifetime.Protocol
	budget inbound.Budget

	mu       sync.Mutex
	couriers map[peer.ID]*courier // guarded by mu; a courier leaves it when it retires (retire)

	// retiring, when set (tests only), runs in a courier's goroutine just
	// before it tries to retire.
	retiring func()

	// tries is what couriers last tried, for Message info (attempts.go).
	tries attempts
}

// New builds the service; Start makes it serve.
func New(cfg Config) (*Service, error) {
	if cfg.Host == nil || cfg.Identity == nil || cfg.Store == nil || cfg.Clock == nil || cfg.Card == nil || cfg.Connect == nil || cfg.Notify == nil {
		return nil, errors.New("dm: Host, Identity, Store, Clock, Card, Connect and Notify are required")
	}
	if cfg.OnGroupKeys == nil {
		cfg.OnGroupKeys = func(peer.ID, *ppb.GroupKeys) error { return nil }
	}
	if cfg.OnFileOffer == nil {
		cfg.OnFileOffer = func(parley.ConversationID, parley.EnvelopeID, peer.ID, *ppb.FileOffer) error { return nil }
	}
	if cfg.OnMailboxGrant == nil {
		cfg.OnMailboxGrant = func(peer.ID, bool) {}
	}
	if cfg.Judge == nil {
		cfg.Judge = func(parley.Message) error { return nil }
	}
	if cfg.Timer == nil {
		cfg.Timer = func(parley.ConversationID) uint32 { return 0 }
	}
	if cfg.OnFileCancel == nil {
		cfg.OnFileCancel = func(parley.ConversationID, peer.ID, string) error { return nil }
	}
	if cfg.OnCardUpdate == nil {
		cfg.OnCardUpdate = func(peer.ID, parley.HLC, identity.Card) error { return nil }
	}
	if cfg.Blocked == nil {
		cfg.Blocked = func(peer.ID) bool { return false }
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = time.Second
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = time.Minute
	}
	if cfg.CourierIdle <= 0 {
		cfg.CourierIdle = 2 * time.Minute
	}
	q := &cfg.StrangerQuota
	for _, f := range []struct {
		v   *int64
		def int64
	}{{&q.PeerCount, 200}, {&q.PeerBytes, 2 << 20}, {&q.TotalCount, 5000}, {&q.TotalBytes, 50 << 20}} {
		if *f.v <= 0 {
			*f.v = f.def
		}
	}
	t, def := &cfg.StrangerTimeouts, DefaultStrangerTimeouts
	for _, f := range []struct{ v, def *time.Duration }{{&t.Idle, &def.Idle}, {&t.Frame, &def.Frame}, {&t.Stream, &def.Stream}} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	return &Service{
		budget:   inbound.Budget{Strangers: maxStrangerStreams, PerStranger: inbound.PerStranger},
		cfg:      cfg,
		self:     cfg.Host.ID(),
		selfName: cfg.Host.ID().String(),
		log:      cfg.Logger.With("service", "dm"),
		life:     lifetime.New(cfg.Host, ID),
		couriers: make(map[peer.ID]*courier),
	}, nil
}

// Start serves the protocol and starts delivering whatever the outbox holds
// from before a restart.
func (s *Service) Start() error {
	s.life.Serve(s.handleStream)
	peers, err := s.cfg.Store.OutboxPeers()
	if err != nil {
		return fmt.Errorf("dm: reading outbox: %w", err)
	}
	for _, p := range peers {
		if id, err := peer.Decode(p); err == nil {
			s.Kick(id)
		}
	}
	return nil
}

// Close stops serving and waits for every courier and handler to return.
// Envelopes not yet acknowledged stay in the outbox for the next start.
func (s *Service) Close() error {
	s.life.Close()
	return nil
}

// SendText seals a text message to a contact, stores it in the outbox and
// returns once it is on disk. Delivery happens in the background. Text
// is checked here, for every caller: parley.CheckText's errors.
//
// cid, when not zero, makes the send idempotent: a send repeating a
// stored cid stores and sends nothing and returns the message stored the
// first time (storage.DB.Resend, which also refuses a cid used for
// another message).
func (s *Service) SendText(to parley.Contact, text string, cid parley.ClientID) (parley.Message, error) {
	if err := parley.CheckText(text); err != nil {
		return parley.Message{}, err
	}
	body := &ppb.Body{Kind: &ppb.Body_Text{Text: &ppb.Text{Text: text}}}
	return s.send(to, body, parley.Message{Kind: parley.KindText, Text: text}, nil, cid)
}

// SendReadReceipt tells a contact that the user has seen these messages, and
// marks them read in the same write, so a crash cannot lose one without the
// other.
func (s *Service) SendReadReceipt(to parley.Contact, ids []parley.EnvelopeID) error {
	for len(ids) > 0 {
		n := min(len(ids), identity.MaxReceiptIDs)
		raw := make([][]byte, n)
		for i, id := range ids[:n] {
			raw[i] = id[:]
		}
		body := &ppb.Body{Kind: &ppb.Body_Receipt{Receipt: &ppb.Receipt{Kind: ppb.Receipt_KIND_READ, EnvelopeIds: raw}}}
		if _, err := s.send(to, body, parley.Message{Kind: parley.KindReceipt}, ids[:n], parley.ClientID{}); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// SendFileOffer offers a file to a contact; the files service serves it.
func (s *Service) SendFileOffer(to parley.Contact, offer *ppb.FileOffer) (parley.Message, error) {
	body := &ppb.Body{Kind: &ppb.Body_FileOffer{FileOffer: offer}}
	return s.send(to, body, parley.Message{Kind: parley.KindFile, Text: offer.Name, FileID: hex.EncodeToString(offer.FileId)}, nil, parley.ClientID{})
}

// SendDeliveryReceipt tells a contact that these of their messages are
// stored here: sent for what came through a mailbox, whose sender got no
// ack (a push's ack says as much).
func (s *Service) SendDeliveryReceipt(to parley.Contact, ids []parley.EnvelopeID) error {
	for len(ids) > 0 {
		n := min(len(ids), identity.MaxReceiptIDs)
		raw := make([][]byte, n)
		for i, id := range ids[:n] {
			raw[i] = id[:]
		}
		body := &ppb.Body{Kind: &ppb.Body_Receipt{Receipt: &ppb.Receipt{Kind: ppb.Receipt_KIND_DELIVERED, EnvelopeIds: raw}}}
		if _, err := s.send(to, body, parley.Message{Kind: parley.KindReceipt}, nil, parley.ClientID{}); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// SendMailboxGrant hands a contact our mailboxes, each with the
// capability issued for them (PROTOCOL.md §9.9).
func (s *Service) SendMailboxGrant(to parley.Contact, g *ppb.MailboxGrant) error {
	if err := identity.CheckMailboxGrant(g); err != nil {
		return err
	}
	body := &ppb.Body{Kind: &ppb.Body_MailboxGrant{MailboxGrant: g}}
	_, err := s.send(to, body, parley.Message{Kind: parley.KindMailboxGrant}, nil, parley.ClientID{})
	return err
}

// SendFileCancel tells a contact that we withdrew (our offer) or
// cancelled (theirs) the file fileID of our conversation, so that their
// side of the transfer stops too.
func (s *Service) SendFileCancel(to parley.Contact, fileID string) error {
	id, err := hex.DecodeString(fileID)
	if err != nil || len(id) != identity.FileIDSize {
		return fmt.Errorf("%w: file ID %q", parley.ErrMalformed, fileID)
	}
	body := &ppb.Body{Kind: &ppb.Body_FileCancel{FileCancel: &ppb.FileCancel{FileId: id}}}
	_, err = s.send(to, body, parley.Message{Kind: parley.KindFileCancel, FileID: fileID}, nil, parley.ClientID{})
	return err
}

// SendMailboxOffer offers our node to a contact as their mailbox, with the
// addresses it listens on (the first identity.MaxOfferAddrs).
func (s *Service) SendMailboxOffer(to parley.Contact, addrs []ma.Multiaddr) (parley.Message, error) {
	if len(addrs) == 0 {
		return parley.Message{}, errors.New("dm: a mailbox offer needs an address to reach us at")
	}
	addrs = addrs[:min(len(addrs), identity.MaxOfferAddrs)]
	offer := &ppb.MailboxOffer{PeerId: []byte(s.self)}
	text := make([]string, 0, len(addrs))
	for _, a := range addrs {
		offer.Addrs = append(offer.Addrs, a.Bytes())
		text = append(text, a.String())
	}
	body := &ppb.Body{Kind: &ppb.Body_MailboxOffer{MailboxOffer: offer}}
	return s.send(to, body, parley.Message{Kind: parley.KindMailboxOffer, Text: strings.Join(text, "\n")}, nil, parley.ClientID{})
}

// SendGroupKeys hands group keys to a member (who need not be a contact:
// to carries the key the group's ops gave for them).
func (s *Service) SendGroupKeys(to parley.Contact, keys *ppb.GroupKeys) error {
	body := &ppb.Body{Kind: &ppb.Body_GroupKeys{GroupKeys: keys}}
	_, err := s.send(to, body, parley.Message{Kind: parley.KindGroupKeys}, nil, parley.ClientID{})
	return err
}

// SendCardUpdate hands a contact our signed contact card (a name or the
// mailboxes changed). It travels like any message, through the outbox.
func (s *Service) SendCardUpdate(to parley.Contact, signedCard []byte) error {
	body := &ppb.Body{Kind: &ppb.Body_CardUpdate{CardUpdate: &ppb.CardUpdate{Card: signedCard}}}
	_, err := s.send(to, body, parley.Message{Kind: parley.KindCardUpdate}, nil, parley.ClientID{})
	return err
}

// send seals body to a contact and stores it with msg, its meaning, in the
// outbox; markRead and cid as for storage.Record's MarkRead and ClientID.
func (s *Service) send(to parley.Contact, body *ppb.Body, msg parley.Message, markRead []parley.EnvelopeID, cid parley.ClientID) (parley.Message, error) {
	if s.cfg.WriteRefused != nil {
		return parley.Message{}, s.cfg.WriteRefused
	}
	pid, err := peer.Decode(to.PeerID)
	if err != nil {
		return parley.Message{}, fmt.Errorf("%w: peer ID %q: %v", parley.ErrMalformed, to.PeerID, err)
	}
	if len(to.HPKEKey) == 0 {
		return parley.Message{}, fmt.Errorf("%w: no encryption key for %s yet; add them by invite", parley.ErrUnknownContact, to.PeerID)
	}
	if msg.Kind != parley.KindGroupKeys && s.cfg.Blocked(pid) {
		// Group keys still go: a group we share must not go dark for them
		// because of a block they are not to learn of.
		return parley.Message{}, fmt.Errorf("%w: you blocked %s; unblock them to write to them", parley.ErrBlocked, to.PeerID)
	}
	conv := parley.DMConversationID(s.selfName, to.PeerID)
	if msg.Kind == parley.KindText || msg.Kind == parley.KindFile {
		// The timer in force now travels with the message, so that every
		// member purges it at the same instant.
		msg.Timer = s.cfg.Timer(conv)
		identity.WithTimer(body, msg.Timer)
	}
	bodyBytes, err := proto.Marshal(body)
	if err != nil {
		return parley.Message{}, fmt.Errorf("dm: encoding body: %w", err)
	}
	if !cid.IsZero() {
		want := msg
		want.Conversation = conv
		if first, found, err := s.cfg.Store.Resend(cid, want); err != nil || found {
			return first, err
		}
	}
	hlc := s.cfg.Clock.Now()
	key, acked, err := s.sessions.next(pid,
		func() (*identity.SendKey, error) { return identity.NewSendKey(to.HPKEKey, s.self, pid) },
		time.Now())
	if err != nil {
		return parley.Message{}, fmt.Errorf("dm: new sending key: %w", err)
	}
	var card []byte
	if !acked {
		card = s.cfg.Card()
	}
	env, eid, err := s.cfg.Identity.SealEnvelope(conv, key, !acked, hlc, bodyBytes, card)
	if err != nil {
		return parley.Message{}, fmt.Errorf("dm: sealing: %w", err)
	}
	msg.ID = eid
	msg.Conversation = conv
	msg.From = s.selfName
	msg.To = to.PeerID
	msg.Outgoing = true
	msg.HLC = hlc
	msg.Status = parley.StatusQueued
	added, err := s.cfg.Store.PutRecords([]storage.Record{{Message: msg, Envelope: env, QueueTo: to.PeerID, MarkRead: markRead, ClientID: cid, Sealed: true}})
	if err != nil {
		return parley.Message{}, fmt.Errorf("dm: storing: %w", err)
	}
	if !added[0] && !cid.IsZero() {
		// A concurrent send with the same cid was stored first.
		return s.cfg.Store.FirstSend(cid, msg)
	}
	if msg.Kind == parley.KindText || msg.Kind == parley.KindFile || msg.Kind == parley.KindMailboxOffer || msg.Kind == parley.KindTimer {
		s.cfg.Notify(parley.Event{Type: parley.EventMessage, Message: &msg})
	}
	s.Kick(pid)
	return msg, nil
}

// Kick makes the courier for p try to deliver now (a message was queued, or
// p just connected), starting one if p has none. It never blocks.
func (s *Service) Kick(p peer.ID) {
	if p == s.self {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.couriers[p]
	if c == nil {
		c = newCourier(s, p)
		if !s.life.Go(c.run) {
			return // closed
		}
		s.couriers[p] = c
	}
	c.kick()
}

// retire removes an idle courier from the map, so that its goroutine can
// return, unless a kick is waiting for it: then it must stay and deliver.
//
// This cannot lose a message. send writes to the outbox before it kicks,
// and Kick looks the courier up and kicks it under s.mu, which retire
// holds too. So a kick either came before retire took the lock, and is
// waiting in c.wake (the courier stays and drains), or comes after the
// courier left the map, and Kick starts a new courier, whose first drain
// reads the outbox from disk: the outbox, not the courier, holds what is
// still to be delivered.
func (s *Service) retire(c *courier) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-c.wake:
		return false
	default:
	}
	delete(s.couriers, c.peer)
	return true
}

// handleStream is the inbound side: read a Push, store, ack, repeat.
// Contacts' streams are limited only by the resource manager (per peer);
// strangers' by budget, so that they never take a contact's place.
func (s *Service) handleStream(st network.Stream) {
	remote := st.Conn().RemotePeer()
	c, err := s.cfg.Store.Contact(remote.String())
	known := err == nil && c.State == parley.ContactAccepted
	done, ok := s.life.Admit(st, func(int) bool {
		if !s.budget.Take(remote, known) {
			s.log.Debug("dm: strangers' streams are all taken (or this one has one), refusing one", "peer", remote)
			return false
		}
		return true
	}, func() { s.budget.Release(remote, known) })
	if !ok {
		return
	}
	defer done()
	t := contactTimeouts
	if !known {
		t = s.cfg.StrangerTimeouts
	}
	s.serve(st, t)
}

// keyCache keeps recently used receiving keys in memory so that a burst of
// envelopes costs one HPKE decapsulation, not one each.
type keyCache struct {
	mu sync.Mutex
	m  map[string]*identity.SendKey // guarded by mu; peer ID + key ID
}

const keyCacheMax = 1024

func (c *keyCache) get(k string) *identity.SendKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

func (c *keyCache) put(k string, v *identity.SendKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= keyCacheMax {
		c.m = make(map[string]*identity.SendKey) // crude but bounded; the store is the source of truth
	}
	c.m[k] = v
}
