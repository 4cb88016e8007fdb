package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/connmgr"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/metrics"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/libp2p/go-libp2p/core/pnet"
	"github.com/libp2p/go-libp2p/core/protocol"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/node/catchup"
	"github.com/parley-im/parley/node/dm"
	"github.com/parley-im/parley/node/files"
	"github.com/parley-im/parley/node/invite"
	"github.com/parley-im/parley/node/mailbox"
	"github.com/parley-im/parley/node/presence"
	ppb "github.com/parley-im/parley/pb"
	"github.com/parley-im/parley/pubsub"
	"github.com/parley-im/parley/storage"
)

// Config says how to run a node. DataDir is required; every other field has
// a working default.
type Config struct {
	// DataDir holds the keystore, the store and the API file. Created if
	// missing. One process at a time: a second gets parley.ErrDataDirInUse.
	DataDir string
	// Listen addresses (multiaddrs). Empty: DefaultListen, or
	// DefaultPrivateListen with a SwarmKey.
	Listen []string
	// Bootstrap peers for the DHT (multiaddrs ending in /p2p/ID). They are
	// also the first relay candidates of a node behind a NAT.
	Bootstrap []string
	// RelayService makes the node take itself to be publicly reachable:
	// it serves as a relay and as a DHT server for others at once, instead
	// of after AutoNAT's verdict. For a community's always-on node with a
	// public address; behind a NAT it would announce addresses no one can
	// dial.
	RelayService bool
	// RelayAfterVerdict makes a node reserve a relay slot only once AutoNAT
	// finds it unreachable, some 20 s after it starts, as before a node
	// reserved one at once (relay.go, earlyRelay): for benchmarks that
	// measure the difference.
	RelayAfterVerdict bool
	// MailboxService makes the node hold mail for people who registered
	// with it (node/mailbox, PROTOCOL.md §9), under MailboxQuota and
	// MailboxTTL. `parley run` turns it on with RelayService. Neither it
	// nor MailboxServiceOff set: the user's setting decides
	// (Messenger.SetMailboxService; default off). Either set: it holds for
	// the whole run, and the setting cannot change it (parley.ErrSetAtStart).
	MailboxService bool
	// MailboxServiceOff keeps the mailbox service off for this run,
	// whatever the setting says (`parley run --mailbox-service=false`).
	MailboxServiceOff bool
	// MailboxQuota bounds each owner's mail (node/mailbox.Config.Quota);
	// fields not above zero take its defaults: 10,000 envelopes, 100 MiB.
	MailboxQuota storage.MailboxQuota
	// MailboxTTL is how long mail waits for its owner. Default 30 days.
	MailboxTTL time.Duration
	// MailboxFetchInterval is how often the node fetches its mail from
	// each of the user's mailboxes, beyond on start and on connecting to
	// one. Default DefaultMailboxFetchInterval (a minute).
	MailboxFetchInterval time.Duration
	// MailboxFileLimit: a file offered in a DM of at most this many bytes
	// is deposited with its chunks at the recipient's mailboxes, so it
	// arrives while we are offline (PROTOCOL.md §9.11); a larger one waits
	// for us. 0: files.DefaultMailFile (25 MiB); negative: none; at most
	// files.MaxMailFile (128 MiB).
	MailboxFileLimit int64
	// MetricsAddr, when set, serves Prometheus metrics at
	// http://MetricsAddr/metrics (host:port, used as given; see
	// DefaultMetricsAddr): go-libp2p's (resource manager, swarm and
	// transports, identify, relay service, AutoNAT) and the mailbox
	// service's (node/mailbox.Service.Collector). Empty: none are kept.
	MetricsAddr string
	// NATPortMap asks the LAN's gateway (UPnP, NAT-PMP) to forward a port
	// to the node. It reaches beyond this machine: tests leave it off.
	NATPortMap bool
	// PublicDHT also joins the public IPFS DHT (as a client), to find
	// contacts anywhere with no server of anyone's own: by peer ID, and by
	// a rendezvous key hashed from the peer ID that each node advertises
	// there. Parley's own DHT runs as before. It reaches beyond this
	// machine: tests leave it off, or replace PublicDHTBootstrap. Not in a
	// private network.
	PublicDHT bool
	// PublicDHTBootstrap replaces the public DHT's bootstrap peers
	// (default: go-libp2p-kad-dht's DefaultBootstrapPeers), whether the
	// public DHT is joined at start (PublicDHT, or the stored setting) or
	// later (Messenger.SetPublicDHT). Tests point it at hosts of their own.
	PublicDHTBootstrap []string
	// MDNS finds peers on the LAN. It reaches beyond this machine: tests
	// leave it off.
	MDNS bool
	// Name is the display name on our contact card. Empty keeps the stored
	// one (DefaultName on first run).
	Name string
	// Passphrase seals the keystore; empty leaves it readable by this user
	// only (mode 0600), with a warning.
	Passphrase []byte
	// ScryptWorkFactor is log2 of scrypt's N for the backups the node
	// seals (Messenger.Backup). 0: age's default, 18 (about a second);
	// tests use ~10.
	ScryptWorkFactor int
	// SwarmKey, when set, makes the node part of a private network: it
	// connects only to peers holding the same key. It is the content of a
	// go-libp2p swarm key file (/key/swarm/psk/1.0.0/, /base16/, 64 hex
	// digits). QUIC cannot run in a private network: Listen must then hold
	// TCP addresses only.
	SwarmKey []byte
	Logger   *slog.Logger
	// RetryMin and RetryMax bound delivery back-off (dm.Config).
	RetryMin, RetryMax time.Duration
	// ReconnectInterval is how often offline contacts are tried again
	// (each with its own back-off). Default 30s.
	ReconnectInterval time.Duration
	// GroupSyncInterval is how often each group is synced with a few
	// connected members, beyond the syncs on every connection. Default 30s.
	GroupSyncInterval time.Duration
	// GroupPeers is how many members of each group the node keeps
	// connected, dialling only to fill that set (group_peers.go); the
	// others are reached through gossip and sync. 0: every member in
	// groups of up to 64, 8 in larger ones.
	GroupPeers int
	// DHTClient: query the DHT, never serve it (go-libp2p-kad-dht's
	// client mode), as a node on a metered or flaky link may want.
	// Default: serve unless AutoNAT finds us unreachable.
	DHTClient bool
	// Bandwidth, when set, counts the bytes the host sends and receives
	// (benchmarks).
	Bandwidth metrics.Reporter
	// ConnLimits bound the connections the node keeps (contacts and the
	// groups' chosen members are protected from trimming).
	ConnLimits ConnLimits
	// ConnectionGater, when set, decides which peers may connect (a block
	// list; tests cut network links with it).
	ConnectionGater connmgr.ConnectionGater
	// Downloads is where received files go. Default: DATA/downloads.
	Downloads string
	// AutoAccept: files from contacts up to this many bytes are fetched
	// without asking. 0: files.DefaultAutoAccept (25 MiB); negative: never.
	AutoAccept int64
	// StrangerQuota bounds what peers who are not accepted contacts can make
	// us store (dm.Config.StrangerQuota); fields not above zero take its
	// defaults: 200 messages or 2 MiB each, 5,000 or 50 MiB in all.
	StrangerQuota storage.Quota
	// StrangerTimeout is how long a stranger's inbound stream (DM, file,
	// sync) may wait for a frame, and take to send one once begun; the
	// stream ends after six times that in all. Default 10 s (a minute in
	// all). Contacts and fellow members get longer (docs/design-notes.md,
	// "Inbound streams").
	StrangerTimeout time.Duration
	// MinFree is the free-space watermark below which the store takes no
	// writes (storage.Options.MinFree); 0: storage.DefaultMinFree, 64 MiB.
	MinFree int64
	// FreeSpace measures free space (storage.Options.FreeSpace); nil: a
	// statfs. Tests inject one.
	FreeSpace func(dir string) (int64, error)
	// TypingExpiry is how long someone is shown typing after their last
	// "typing" (presence.DefaultTypingExpiry, 6 s). Tests shorten it.
	TypingExpiry time.Duration
	// ReceiptDelay is how long group receipts wait to be batched into
	// one envelope per group (group_receipts.go); 0: DefaultReceiptDelay.
	ReceiptDelay time.Duration
	// ExpiryClock is the clock disappearing messages expire by (the
	// sweeper's, timer.go); nil: time.Now. Tests move it forward.
	ExpiryClock func() time.Time
	// LinkClock is the clock link codes expire by (linking.go); nil:
	// time.Now. Tests move it forward.
	LinkClock func() time.Time
	// PlaintextStore writes the store unencrypted, for tests that search
	// the data directory's raw files (storage.Options.Plaintext). Tests
	// only: the CLI and the API never set it.
	PlaintextStore bool
}

// DefaultName is the display name of a new identity until the user sets one.
const DefaultName = "Parley user"

// DHTPrefix keeps Parley's DHT apart from the public IPFS DHT.
const DHTPrefix protocol.ID = "/parley"

// mdnsService is the mDNS service name Parley nodes announce.
const mdnsService = "_parley-discovery._udp"

// Node is a running Parley node. It owns every part's lifetime: New builds
// them in order and Close shuts them down in reverse.
type Node struct {
	// cfg is what New was given, for a restart in place (restart.go).
	cfg       Config
	dataDir   string
	downloads string
	// settingsMu serialises writes of settings.json, and joining and
	// leaving the public DHT; Close takes it to cancel ctx, so that no
	// public DHT starts after that.
	settingsMu sync.Mutex
	log        *slog.Logger
	lock       *dirLock
	id         *identity.Identity
	store      *storage.DB
	host       host.Host
	dht        *dht.IpfsDHT
	pub        atomic.Pointer[publicDHT] // nil while off; changed under settingsMu
	pubBoot    []peer.AddrInfo           // Config.PublicDHTBootstrap; nil: the public bootstrap peers
	mdns       mdns.Service              // nil when off or unavailable
	psk        pnet.PSK                  // nil outside a private network
	// scryptWorkFactor: Config.ScryptWorkFactor.
	scryptWorkFactor int
	hub              *hub
	dm               *dm.Service
	router           *pubsub.Router
	groups           *pubsub.Groups
	sync             *catchup.Service
	files            *files.Service
	invites          *invite.Service
	// inviteSecret is what our short invite codes carry (settings.json;
	// invites.go).
	inviteSecret atomic.Pointer[[]byte]
	gsync        *groupSync
	pending      *pendingInvites // short invites waiting for their owners (pending_invites.go)
	// mailbox is nil while the mailbox service is off; it starts and stops
	// under settingsMu (mailbox_service.go).
	mailbox   atomic.Pointer[mailbox.Service]
	mbConfig  mailbox.Config // what the service starts with
	mbAtStart bool           // Config.MailboxService or MailboxServiceOff: the setting cannot change it
	metrics   *metricsServer // nil unless Config.MetricsAddr
	// msgr is this node's own Messenger, which its services call; api is
	// the one handed out (Messenger), the same as msgr unless this node
	// replaced another on a restart in place, whose api it took over.
	msgr *Messenger
	api  *Messenger
	// passphrase seals the keystore when the node writes it (linking):
	// Config.Passphrase, then what ChangePassphrase set. Guarded by
	// settingsMu.
	passphrase []byte
	// person is the identity as linking leaves it: n.id with the person
	// fields it changed (linking.go). The keys n.id holds never change.
	person atomic.Pointer[identity.Identity]
	// link is the link code this node shows as a new device, nil when
	// none (linking.go). Guarded by linkMu.
	linkMu sync.Mutex
	link   *waitingLink
	// acceptMu lets one link as the existing device run at a time.
	acceptMu sync.Mutex
	// blocks: the peers the user blocked (block.go).
	blocks blockList

	// mbList is the user's mailboxes (settings.json's, kept here for
	// watchNetwork); mbKick has the fetcher go over them now. Capacity 1.
	mbMu   sync.Mutex
	mbList []storedMailbox
	// mbRetired is settings.json's RetiredMailboxes. Guarded by mbMu.
	mbRetired map[string]uint32
	mbKick    chan struct{}
	// mbRevoked is the contacts whose capabilities the user revoked
	// (settings.json's); mbReg the registrations held (mailbox_revoke.go).
	mbRevoked []string
	mbReg     registrations
	mbWG      sync.WaitGroup // the fetcher; it stops before the services it feeds
	// mailFileLimit: our DM files up to this size go to mailboxes with
	// their chunks (Config.MailboxFileLimit, resolved).
	mailFileLimit int64
	// mailFilesHeld: how many chunks of a file a mailbox took before it
	// refused more (mail_files.go), so a retry goes on from there. Guarded
	// by mailFilesMu.
	mailFilesMu   sync.Mutex
	mailFilesHeld map[mbFileKey]int
	// groupMail is our group messages waiting for their deposits at
	// offline members' mailboxes (group_mail.go).
	groupMail chan parley.Message
	// gg is our group-scoped mailbox grants' state (group_grants.go).
	gg *groupGrants
	// receipts batches our group receipts (group_receipts.go).
	receipts *receiptBatcher
	// started: New returned the node; only then does Close deposit what
	// waits for unreachable contacts.
	started bool

	// cardKick has the announcer check whether contacts have our card as
	// it is now (cards.go). Capacity 1.
	cardKick chan struct{}

	netEvents event.Subscription // read by watchNetwork
	ctx       context.Context    // cancelled by Close; owns background dials
	cancel    context.CancelFunc
	wg        sync.WaitGroup

	// writable is signalled when the store takes writes again after a
	// full disk; resumeOnSpace then sends what waited. Capacity 1.
	writable chan struct{}

	// expiry purges disappearing messages when they expire (expiry.go).
	expiry *expirySweeper

	netMu        sync.Mutex
	reachability network.Reachability // guarded by netMu: AutoNAT's latest verdict
	observed     map[peer.ID]string   // guarded by netMu: how each connected peer sees us

	// Presence (presence.go): the protocol, who types where, our typing
	// rate limit, the two settings, and the blocking hook.
	presence   *presence.Service
	typists    *presence.Typists
	typingOut  *presence.Outgoing
	typingOn   atomic.Bool
	lastSeenOn atomic.Bool
}

// New opens the data dir and starts the node. It returns once the node
// listens and serves; bootstrap and contact dials continue in the background
// until Close. ctx bounds start-up only.
func New(ctx context.Context, cfg Config) (*Node, error) { return newNode(ctx, cfg, nil, nil) }

// newNode is New, and a restart in place (restart.go) when api and events
// are the Messenger and the event hub of the node it replaces: the new
// node takes them over, so that the API and event subscribers keep them.
func newNode(ctx context.Context, cfg Config, api *Messenger, events *hub) (_ *Node, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if cfg.DataDir == "" {
		return nil, errors.New("node: DataDir is required")
	}
	if err := identity.CheckName(cfg.Name); err != nil {
		return nil, fmt.Errorf("display name: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if events == nil {
		events = newHub()
	}
	n := &Node{cfg: cfg, passphrase: cfg.Passphrase, dataDir: cfg.DataDir, log: cfg.Logger, scryptWorkFactor: cfg.ScryptWorkFactor, hub: events, writable: make(chan struct{}, 1), mbKick: make(chan struct{}, 1),
		cardKick: make(chan struct{}, 1), groupMail: make(chan parley.Message, groupMailQueue), gg: newGroupGrants()}
	n.expiry = newExpirySweeper(n, cfg.ExpiryClock)
	if len(cfg.SwarmKey) > 0 {
		if n.psk, err = pnet.DecodeV1PSK(bytes.NewReader(cfg.SwarmKey)); err != nil {
			return nil, fmt.Errorf("%w: swarm key (want /key/swarm/psk/1.0.0/, /base16/, 64 hex digits): %w", parley.ErrMalformed, err)
		}
	}
	// Checked before anything is opened, so a bad flag changes nothing.
	listen, err := listenAddrs(cfg.Listen, n.psk != nil)
	if err != nil {
		return nil, err
	}
	if cfg.PublicDHT && n.psk != nil {
		return nil, fmt.Errorf("node: %w", errPublicDHTPrivate)
	}
	if cfg.MailboxService && cfg.MailboxServiceOff {
		return nil, errors.New("node: MailboxService and MailboxServiceOff are both set")
	}
	bootstrap, err := parseAddrInfos(cfg.Bootstrap)
	if err != nil {
		return nil, err
	}
	if n.pubBoot, err = parseAddrInfos(cfg.PublicDHTBootstrap); err != nil {
		return nil, fmt.Errorf("public DHT: %w", err)
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	// On any failure below, close what was built so far.
	defer func() {
		if err != nil {
			n.close(api == nil)
		}
	}()

	if cfg.MetricsAddr != "" {
		if n.metrics, err = serveMetrics(cfg.MetricsAddr, newMetricsRegistry(), cfg.Logger); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data dir: %w", err)
	}
	if n.lock, err = lockDir(cfg.DataDir); err != nil {
		return nil, err
	}
	settings, err := loadSettings(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	n.mbList = settings.Mailboxes
	n.mbRetired = settings.RetiredMailboxes
	n.mbRevoked = settings.MailboxRevoked
	n.receipts = newReceiptBatcher(cfg.ReceiptDelay, settings.ReadReceipts != nil && !*settings.ReadReceipts)
	n.receipts.spacing = func(conv parley.ConversationID) time.Duration {
		return receiptSpacing(n.receipts.delay, len(n.groups.MemberPeers(conv))+1)
	}
	var created bool
	n.id, created, err = identity.LoadOrCreate(cfg.DataDir, identity.KeystoreOptions{
		Passphrase: cfg.Passphrase, Logger: cfg.Logger, DeviceName: defaultDeviceName(os.Hostname),
	})
	if err != nil {
		return nil, err
	}
	if created {
		n.log.Info("created a new identity", "peer_id", n.id.PeerID)
	}
	n.person.Store(n.id)
	linkedFrom, err := loadLinkSnapshot(cfg.DataDir, n.id, n.log)
	if err != nil {
		return nil, err
	}
	if n.store, err = storage.Open(storage.Options{
		Dir: filepath.Join(cfg.DataDir, "db"), EncryptionKey: n.id.StoreKey, Logger: cfg.Logger,
		MinFree: cfg.MinFree, FreeSpace: cfg.FreeSpace, OnSpace: n.spaceChanged, Plaintext: cfg.PlaintextStore,
	}); err != nil {
		return nil, err
	}
	name := cfg.Name
	if linkedFrom != "" {
		if name, err = n.settleLinkSnapshot(linkedFrom, name); err != nil {
			return nil, err
		}
	}
	if err := n.blocks.load(n.store); err != nil {
		return nil, err
	}
	if err := n.saveProfile(name); errors.Is(err, parley.ErrNoSpace) {
		n.log.Warn("the new display name is not saved: the disk is full", "err", err)
	} else if err != nil {
		return nil, err
	}
	relays := &relaySource{bootstrap: bootstrap}
	var early *earlyRelay
	if !cfg.RelayService && !cfg.RelayAfterVerdict {
		early = newEarlyRelay()
	}
	if n.host, err = listenWithStablePorts(cfg.DataDir, hostConfig{
		key: n.id.Key, listen: listen, psk: n.psk, protocols: []protocol.ID{dm.ID, catchup.ID, files.ID, files.PlainID, mailbox.ID, invite.ID, presence.ID}, gater: cfg.ConnectionGater,
		relays: relays, relayService: cfg.RelayService, earlyRelay: early, natPortMap: cfg.NATPortMap, conns: cfg.ConnLimits, bandwidth: cfg.Bandwidth, metrics: n.metrics.registry(), log: cfg.Logger,
	}); err != nil {
		return nil, err
	}
	h := n.host
	relays.host.Store(&h)
	if early != nil {
		if err = early.start(n.ctx, &n.wg, n.host, n.log); err != nil {
			return nil, err
		}
	}
	// ModeAutoServer: serve DHT queries unless AutoNAT finds us unreachable,
	// so that a small community's nodes route for each other.
	mode := dht.ModeAutoServer
	if cfg.DHTClient {
		mode = dht.ModeClient
	}
	if n.dht, err = dht.New(n.host, dht.ProtocolPrefix(DHTPrefix), dht.Mode(mode), dht.BootstrapPeers(bootstrap...),
		dht.QueryFilter(dhtQueryFilter), dht.RoutingTableFilter(dhtTableFilter(n.host))); err != nil {
		return nil, fmt.Errorf("dht: %w", err)
	}
	publicDHT := cfg.PublicDHT
	if settings.PublicDHT != nil && *settings.PublicDHT {
		if n.psk == nil {
			publicDHT = true
		} else {
			// Chosen before this data dir joined a private network.
			n.log.Warn("the public DHT stays off in a private network (swarm key), whatever the settings say")
		}
	}
	if publicDHT {
		pub, err := n.startPublicDHT(n.pubBoot)
		if err != nil {
			return nil, err
		}
		n.pub.Store(pub)
	}
	// AutoNAT's emitter is stateful: a verdict reached before this
	// subscription is delivered first.
	if n.netEvents, err = n.host.EventBus().Subscribe([]any{
		new(event.EvtPeerConnectednessChanged),
		new(event.EvtPeerIdentificationCompleted),
		new(event.EvtLocalReachabilityChanged),
	}); err != nil {
		return nil, fmt.Errorf("subscribing to connection events: %w", err)
	}
	n.msgr = &Messenger{}
	n.msgr.cur.Store(n)
	if n.api = api; api == nil {
		n.api = n.msgr
	}
	n.pending = newPendingInvites(n, cfg.ReconnectInterval)
	clock, err := n.resumeClock()
	if err != nil {
		return nil, err
	}
	n.mailFileLimit = mailFileLimit(cfg.MailboxFileLimit)
	n.mailFilesHeld = make(map[mbFileKey]int)
	if n.dm, err = dm.New(dm.Config{
		Host:         relayedStreams{n.host},
		Identity:     n.id,
		Store:        n.store,
		Clock:        clock,
		Card:         n.msgr.signedCard,
		WriteRefused: n.linkedDeviceWrite(),
		Connect:      n.connect,
		Notify:       n.onStored,
		Judge:        n.judge,
		Timer:        n.timerSeconds,
		// Set before Start, so n.groups is there by the first envelope.
		OnGroupKeys: func(from peer.ID, keys *ppb.GroupKeys) error { return n.groups.OnGroupKeys(from, keys) },
		OnFileOffer: func(conv parley.ConversationID, msg parley.EnvelopeID, from peer.ID, o *ppb.FileOffer) error {
			return n.files.OnOffer(conv, msg, from, o)
		},
		OnMailboxGrant:  func(from peer.ID, first bool) { n.onGrant(from, first) },
		Deposit:         n.depositAt,
		DepositAttached: n.depositChunksAt,
		OnFileCancel: func(conv parley.ConversationID, from peer.ID, id string) error {
			return n.files.OnCancel(conv, from, id)
		},
		OnCardUpdate:     n.applyCard,
		Blocked:          n.Blocked,
		Logger:           cfg.Logger,
		RetryMin:         cfg.RetryMin,
		RetryMax:         cfg.RetryMax,
		StrangerQuota:    cfg.StrangerQuota,
		StrangerTimeouts: strangerTimeouts(cfg.StrangerTimeout),
	}); err != nil {
		return nil, err
	}
	if n.router, err = pubsub.NewRouter(n.host, cfg.Logger); err != nil {
		return nil, err
	}
	if err := n.startPresence(cfg, settings); err != nil {
		return nil, err
	}
	n.gsync = newGroupSync(n, cfg.GroupSyncInterval, cfg.GroupPeers)
	groupsCfg := pubsub.Config{
		Host:         n.host,
		Router:       n.router,
		Identity:     n.id,
		Store:        n.store,
		Clock:        clock,
		SelfName:     func() string { return n.msgr.card().Name },
		WriteRefused: n.linkedDeviceWrite(),
		SendKeys:     n.dm.SendGroupKeys,
		Judge:        n.judge,
		Timer:        n.timerSeconds,
		Notify: func(e parley.Event) {
			n.onStored(e)
			n.onGroupStored(e)
			n.gsync.noteEvent(e)
			if e.Type == parley.EventMessage {
				n.queueGroupMail(*e.Message)
			}
			if e.Type == parley.EventGroup {
				n.kickGroupGrants()
			}
		},
		Active: n.gsync.activate,
		OnFileOffer: func(conv parley.ConversationID, msg parley.EnvelopeID, from peer.ID, o *ppb.FileOffer) error {
			return n.files.OnOffer(conv, msg, from, o)
		},
		Logger:   cfg.Logger,
		OnTyping: n.onGroupTyping,
		Hidden:   n.Blocked,
	}
	n.groupsConfigHooks(&groupsCfg)
	if n.groups, err = pubsub.NewGroups(groupsCfg); err != nil {
		return nil, err
	}
	if n.sync, err = catchup.New(catchup.Config{
		Host: n.host, Open: n.openLog, Known: n.isKnown, StrangerTimeouts: strangerTimeouts(cfg.StrangerTimeout), Logger: cfg.Logger,
	}); err != nil {
		return nil, err
	}
	n.sync.Start()
	n.downloads = cfg.Downloads
	if n.downloads == "" {
		n.downloads = filepath.Join(cfg.DataDir, "downloads")
	}
	autoAccept := cfg.AutoAccept
	if autoAccept == 0 && settings.AutoAcceptBytes != nil {
		autoAccept = *settings.AutoAcceptBytes
	}
	if n.files, err = files.New(files.Config{
		Host:             n.host,
		Store:            n.store,
		Downloads:        n.downloads,
		Notify:           n.hub.publish,
		MayFetch:         n.mayFetch,
		Sources:          n.fileSources,
		Connect:          n.connect,
		IsContact:        n.isContact,
		Known:            n.isKnown,
		AutoAccept:       autoAccept,
		StrangerTimeouts: strangerTimeouts(cfg.StrangerTimeout),
		Logger:           cfg.Logger,
	}); err != nil {
		return nil, err
	}
	if err := n.files.Start(); err != nil {
		return nil, err
	}
	if err := n.dm.Start(); err != nil {
		return nil, err
	}
	if err := n.loadInviteSecret(settings); err != nil {
		return nil, err
	}
	if n.invites, err = invite.New(invite.Config{
		Host: n.host, Secret: n.currentInviteSecret, Card: n.msgr.signedCard,
		Timeouts: strangerTimeouts(cfg.StrangerTimeout), Logger: cfg.Logger,
	}); err != nil {
		return nil, err
	}
	n.invites.Start()
	n.mbConfig = mailbox.Config{Host: n.host, Store: n.store, Quota: cfg.MailboxQuota, TTL: cfg.MailboxTTL, Logger: cfg.Logger}
	n.mbAtStart = cfg.MailboxService || cfg.MailboxServiceOff
	if cfg.MailboxService || !n.mbAtStart && settings.MailboxService != nil && *settings.MailboxService {
		svc, err := n.startMailboxService()
		if err != nil {
			return nil, err
		}
		n.mailbox.Store(svc)
	}
	n.wg.Add(1)
	go n.expiry.run() // at once: what expired while we were down goes first
	n.wg.Add(1)
	go n.gsync.run()
	n.wg.Add(1)
	go n.watchNetwork()
	reconnect := cfg.ReconnectInterval
	if reconnect <= 0 {
		reconnect = defaultReconnectInterval
	}
	n.wg.Add(1)
	go n.keepContactsInReach(reconnect)
	n.wg.Add(1)
	go n.pending.run()
	n.wg.Add(1)
	go n.resumeOnSpace()
	n.checkCardAnnounced()
	n.wg.Add(1)
	go n.announceLoop()
	n.wg.Add(1)
	go n.mailGroupLoop()
	n.wg.Add(1)
	go n.receiptLoop()
	n.wg.Add(1)
	go n.groupGrantLoop()
	fetchEvery := cfg.MailboxFetchInterval
	if fetchEvery <= 0 {
		fetchEvery = DefaultMailboxFetchInterval
	}
	n.mbWG.Add(1)
	go n.fetchMailLoop(fetchEvery)

	if err := n.dialKnownPeers(bootstrap); err != nil {
		return nil, err
	}
	if cfg.MDNS {
		n.startMDNS()
	}
	n.started = true
	if linkedFrom != "" {
		// Kept until now so that a crash before here loads it again.
		removeLinkSnapshot(cfg.DataDir, n.log)
	}
	n.api.cur.Store(n) // a restart in place: the API's Messenger now serves this node
	n.log.Info("node started", "peer_id", n.host.ID(), "addrs", n.host.Addrs())
	return n, nil
}

// Messenger is the node's chat surface (the API serves it). It stays the
// same when the node restarts in place (after linking), and serves the
// node running then.
func (n *Node) Messenger() *Messenger { return n.api }

// Host is the libp2p host of the node running now, for tests and
// diagnostics.
func (n *Node) Host() host.Host { return n.api.node().host }

// closeDepositTimeout bounds the deposits Close makes for unreachable
// contacts: what does not fit waits for the next start.
const closeDepositTimeout = 5 * time.Second

// Close stops everything in reverse order of construction. Undelivered
// messages stay in the outbox for the next start. After a restart in
// place, it closes the node running then.
func (n *Node) Close() error {
	m := n.api
	m.lifeMu.Lock()
	defer m.lifeMu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	return m.node().close(true)
}

// close stops this node; closeHub also ends the event subscriptions,
// which a restart in place hands to the node that replaces this one.
func (n *Node) close(closeHub bool) error {
	var errs []error
	if n.mdns != nil {
		errs = append(errs, n.mdns.Close())
	}
	if n.started {
		n.flushReceipts() // stored now, they reach members by sync later
	}
	n.settingsMu.Lock()
	n.cancel()
	n.settingsMu.Unlock()
	n.mbWG.Wait()
	if n.started {
		// About to stop: leave what unreachable contacts are still owed at
		// their mailboxes (the receipts of the last fetch included, which
		// is why the fetcher stops first), within a bound that keeps
		// stopping quick.
		ctx, cancel := context.WithTimeout(context.Background(), closeDepositTimeout)
		n.dm.DepositPending(ctx)
		cancel()
	}
	// No service starts after the cancel above (SetMailboxService checks
	// ctx under settingsMu).
	if svc := n.mailbox.Load(); svc != nil {
		errs = append(errs, svc.Close())
	}
	n.lastSeenNow()
	if n.groups != nil {
		errs = append(errs, n.groups.Close())
	}
	if n.presence != nil {
		errs = append(errs, n.presence.Close())
	}
	if n.typists != nil {
		n.typists.Close()
	}
	if n.sync != nil {
		errs = append(errs, n.sync.Close())
	}
	if n.invites != nil {
		errs = append(errs, n.invites.Close())
	}
	if n.files != nil {
		errs = append(errs, n.files.Close())
	}
	if n.dm != nil {
		errs = append(errs, n.dm.Close())
	}
	if n.netEvents != nil {
		errs = append(errs, n.netEvents.Close())
	}
	n.closeLink()
	n.wg.Wait()
	if closeHub {
		n.hub.close()
	}
	if n.router != nil {
		errs = append(errs, n.router.Close())
	}
	if n.dht != nil {
		errs = append(errs, n.dht.Close())
	}
	if n.host != nil {
		errs = append(errs, n.host.Close())
	}
	if n.store != nil {
		errs = append(errs, n.store.Close())
	}
	if n.metrics != nil {
		errs = append(errs, n.metrics.close())
	}
	if n.lock != nil {
		errs = append(errs, n.lock.release())
	}
	return errors.Join(errs...)
}

// resumeClock starts the clock past every message stored, so that a wall
// clock set back while we were down cannot order new messages before old.
func (n *Node) resumeClock() (*parley.Clock, error) {
	clock := parley.NewClock(nil)
	convs, err := n.store.Conversations()
	if err != nil {
		return nil, err
	}
	for _, c := range convs {
		clock.Observe(c.LastHLC)
	}
	return clock, nil
}

// saveProfile keeps our own name as the contact record of our own peer ID.
func (n *Node) saveProfile(name string) error {
	_, err := n.store.UpdateContact(n.id.PeerID.String(), func(self *parley.Contact, found bool) (bool, error) {
		if !found {
			*self = parley.Contact{PeerID: n.id.PeerID.String(), Name: DefaultName, State: parley.ContactAccepted, AddedAt: time.Now().UTC()}
		}
		if name != "" && name != self.Name {
			self.Name = name
			return true, nil
		}
		return !found, nil
	})
	return err
}

// connect reaches a peer: through addresses we know (invite, mDNS, earlier
// connections), else through a DHT lookup by peer ID (Parley's DHT, then
// the public one if joined).
func (n *Node) connect(ctx context.Context, p peer.ID) error {
	if len(n.host.Peerstore().Addrs(p)) > 0 {
		if err := n.host.Connect(ctx, peer.AddrInfo{ID: p}); err == nil {
			return nil
		}
	}
	ai, err := n.lookUp(ctx, p, n.dht.FindPeer)
	if pub := n.pub.Load(); err != nil && pub != nil {
		ai, err = n.lookUp(ctx, p, pub.findPeer)
	}
	if err != nil {
		return fmt.Errorf("finding %s: %w", p, err)
	}
	return n.host.Connect(ctx, ai)
}

// dialKnownPeers connects to bootstrap peers, then to contacts, in the
// background, so presence and the outbox light up without user action.
func (n *Node) dialKnownPeers(bootstrap []peer.AddrInfo) error {
	contacts, err := n.store.Contacts()
	if err != nil {
		return err
	}
	var targets []peer.ID
	for _, c := range contacts {
		p, err := peer.Decode(c.PeerID)
		if err != nil || p == n.host.ID() || c.State != parley.ContactAccepted {
			continue
		}
		n.learnAddrs(p, c.Addrs)
		targets = append(targets, p)
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		for _, ai := range bootstrap {
			ctx, cancel := context.WithTimeout(n.ctx, 15*time.Second)
			if err := n.host.Connect(ctx, ai); err != nil {
				n.log.Warn("bootstrap peer unreachable", "peer", ai.ID, "err", err)
			}
			cancel()
		}
		if len(bootstrap) > 0 {
			if err := n.dht.Bootstrap(n.ctx); err != nil {
				n.log.Debug("dht bootstrap", "err", err)
			}
		}
		for _, p := range targets {
			n.reach(p)
		}
	}()
	return nil
}

// reach tries to connect to p once, in the background.
func (n *Node) reach(p peer.ID) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		ctx, cancel := context.WithTimeout(n.ctx, 30*time.Second)
		defer cancel()
		if err := n.connect(ctx, p); err != nil {
			n.log.Debug("contact not reachable now", "peer", p, "err", err)
		}
	}()
}

// learnAddrInfo remembers where a peer found by discovery listens, for a
// while.
func (n *Node) learnAddrInfo(ai peer.AddrInfo) {
	n.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.TempAddrTTL)
}

// learnAddrs remembers a contact's addresses for dialing.
func (n *Node) learnAddrs(p peer.ID, addrs []string) {
	for _, s := range addrs {
		a, err := ma.NewMultiaddr(s)
		if err != nil {
			continue
		}
		n.host.Peerstore().AddAddr(p, a, peerstore.PermanentAddrTTL)
	}
}

// watchNetwork turns connection changes into presence events and delivery
// attempts (a peer that connects gets its queued messages right away),
// keeps contacts' addresses current as peers tell us where they listen, and
// keeps AutoNAT's reachability verdict for Status.
func (n *Node) watchNetwork() {
	defer n.wg.Done()
	for e := range n.netEvents.Out() {
		switch ev := e.(type) {
		case event.EvtPeerConnectednessChanged:
			online := reachable(ev.Connectedness)
			if !online {
				n.netMu.Lock()
				delete(n.observed, ev.Peer)
				n.netMu.Unlock()
				n.gsync.peerDisconnected(ev.Peer)
			}
			n.presenceChanged(ev.Peer, online)
			if online {
				if q, err := n.store.OutboxLen(ev.Peer.String()); err == nil && q > 0 {
					n.dm.Kick(ev.Peer)
				}
				n.gsync.peerConnected(ev.Peer)
				n.pending.connected(ev.Peer)
				if n.isMailbox(ev.Peer) {
					n.kickMailboxes()
				}
			}
			if c, err := n.store.Contact(ev.Peer.String()); err == nil && c.State == parley.ContactAccepted {
				if online {
					// Keep contacts connected when the connection manager
					// prunes: presence and prompt delivery depend on it.
					n.host.ConnManager().Protect(ev.Peer, "parley-contact")
				}
				n.hub.publish(parley.Event{Type: parley.EventPresence, PeerID: ev.Peer.String(), Online: online})
			}
		case event.EvtPeerIdentificationCompleted:
			n.rememberAddrs(ev.Peer, ev.ListenAddrs)
			n.noteObserved(ev)
		case event.EvtLocalReachabilityChanged:
			n.netMu.Lock()
			n.reachability = ev.Reachability
			n.netMu.Unlock()
		}
	}
}

// rememberAddrs stores where a contact listens, so we can dial it after a
// restart without a lookup.
func (n *Node) rememberAddrs(p peer.ID, addrs []ma.Multiaddr) {
	if len(addrs) == 0 || p == n.host.ID() {
		return
	}
	fresh := make([]string, 0, min(len(addrs), maxCardAddrs))
	for _, a := range addrs[:min(len(addrs), maxCardAddrs)] {
		fresh = append(fresh, a.String())
	}
	// Most identified peers are not contacts, or have not moved: a read
	// from memory spares the writer (and its sync) for them.
	if c, err := n.store.Contact(p.String()); err != nil || slices.Equal(fresh, c.Addrs) {
		return
	}
	_, err := n.store.UpdateContact(p.String(), func(c *parley.Contact, found bool) (bool, error) {
		if !found || slices.Equal(fresh, c.Addrs) {
			return false, nil // strangers' addresses are not worth a write
		}
		c.Addrs = fresh
		return true, nil
	})
	if err != nil {
		n.log.Warn("saving a contact's addresses", "peer", p, "err", err)
	}
}

// startMDNS announces us on the LAN and dials the Parley nodes it finds.
// Where no interface supports multicast, the node runs on without it.
func (n *Node) startMDNS() {
	svc := mdns.NewMdnsService(n.host, mdnsService, mdnsNotifee{n})
	if err := svc.Start(); err != nil {
		n.log.Warn("mDNS is off: no usable network interface", "err", err)
		return
	}
	n.mdns = svc
}

type mdnsNotifee struct{ n *Node }

func (m mdnsNotifee) HandlePeerFound(ai peer.AddrInfo) {
	if ai.ID == m.n.host.ID() {
		return
	}
	m.n.host.Peerstore().AddAddrs(ai.ID, ai.Addrs, peerstore.TempAddrTTL)
	m.n.reach(ai.ID)
}
