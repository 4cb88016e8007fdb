package node

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/peer"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"

	"github.com/parley-im/parley"
)

// The public IPFS DHT (Config.PublicDHT, Settings.PublicDHT): a second
// Kademlia DHT on the same host, under go-libp2p-kad-dht's default prefix
// (/ipfs/kad/1.0.0) and validators, as a client only: Parley nodes use it
// and do not serve it. Parley's own records stay in Parley's DHT
// (/parley); what goes to the public one is each node's peer record (as
// identify gives it to any peer) and a provider record under its peer
// rendezvous key, a hash.
//
// Why a rendezvous key besides FindPeer: FindPeer finds a peer through the
// DHT servers it is connected to, which works for public servers but
// rarely for a client behind a NAT. A provider record under a key anyone
// can derive from the peer ID carries the node's addresses (its relayed
// ones behind a NAT) to the servers closest to that key.
//
// The user turns it on and off while the node runs (SetPublicDHT): each
// start builds a new DHT with goroutines of its own, and stop closes it.
type publicDHT struct {
	dht  *dht.IpfsDHT
	disc *drouting.RoutingDiscovery

	cancel context.CancelFunc // stops both goroutines, which close dht
	wg     sync.WaitGroup     // the goroutines: stop waits for them
}

// errPublicDHTPrivate refuses the public DHT to a node in a private
// network: its peers cannot hold the swarm key.
var errPublicDHTPrivate = fmt.Errorf("joining the public DHT: %w (swarm key)", parley.ErrPrivateNetwork)

const (
	// publicAdvertiseEvery re-advertises our peer key; public DHT servers
	// keep provider records for 48 hours.
	publicAdvertiseEvery = time.Hour
	// publicAdvertiseGap: after our addresses change (a relay reservation,
	// a new port mapping) we advertise again, at most this often.
	publicAdvertiseGap = time.Minute
	// publicRetryMin is the first wait after a failed advertisement; it
	// doubles up to publicAdvertiseEvery.
	publicRetryMin = time.Second
	// publicLookupTimeout bounds a rendezvous lookup, so FindPeer gets its
	// turn within the caller's deadline.
	publicLookupTimeout = 20 * time.Second
	publicDialTimeout   = 15 * time.Second
)

// PeerRendezvousKey is the key a node advertises in the public DHT so that
// contacts who know only its peer ID find its addresses: a hash of the
// peer ID, under Parley's prefix. (Routing discovery hashes it once more
// into the CID the DHT stores.)
func PeerRendezvousKey(p peer.ID) string {
	h := sha256.New()
	h.Write([]byte("parley/peer-rendezvous/v1\x00"))
	h.Write([]byte(p))
	return "/parley/peer-rendezvous/1/" + hex.EncodeToString(h.Sum(nil))
}

// startPublicDHT joins the public DHT through bootstrap (nil: the public
// bootstrap peers) and advertises our peer key there until pub.stop or
// Close. Both goroutines are pub's and n's: stop waits for them, and so
// does Close. New calls it before the node serves anyone; SetPublicDHT
// under n.settingsMu.
func (n *Node) startPublicDHT(bootstrap []peer.AddrInfo) (*publicDHT, error) {
	if bootstrap == nil {
		bootstrap = dht.GetDefaultBootstrapPeerAddrInfos()
	}
	d, err := dht.New(n.host, dht.Mode(dht.ModeClient), dht.BootstrapPeers(bootstrap...))
	if err != nil {
		return nil, fmt.Errorf("public DHT: %w", err)
	}
	sub, err := n.host.EventBus().Subscribe(new(event.EvtLocalAddressesUpdated))
	if err != nil {
		return nil, errors.Join(fmt.Errorf("public DHT: %w", err), d.Close())
	}
	// From n.ctx: Close stops a public DHT that was never stopped.
	ctx, cancel := context.WithCancel(n.ctx)
	pub := &publicDHT{dht: d, disc: drouting.NewRoutingDiscovery(d), cancel: cancel}
	changed := make(chan struct{}, 1)
	goOwned := func(f func()) {
		n.wg.Add(1)
		pub.wg.Add(1)
		go func() {
			defer n.wg.Done()
			defer pub.wg.Done()
			f()
		}()
	}
	goOwned(func() {
		defer sub.Close()
		watchAddrs(ctx, sub, changed)
	})
	goOwned(func() {
		defer func() {
			if err := d.Close(); err != nil {
				n.log.Debug("closing the public DHT", "err", err)
			}
		}()
		pub.run(ctx, n, bootstrap, changed)
	})
	return pub, nil
}

// watchAddrs turns address changes into a pending flag on changed until
// ctx ends: the event bus blocks its emitter while a subscriber lags.
func watchAddrs(ctx context.Context, sub event.Subscription, changed chan<- struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-sub.Out():
			select {
			case changed <- struct{}{}:
			default:
			}
		}
	}
}

// stop leaves the public DHT: it returns once both goroutines have ended
// and the DHT is closed. Provider records already advertised stay on the
// public servers until they expire (48 hours).
func (pub *publicDHT) stop() {
	pub.cancel()
	pub.wg.Wait()
}

// run connects to the bootstrap peers, then keeps our peer key advertised
// until ctx ends.
func (pub *publicDHT) run(ctx context.Context, n *Node, bootstrap []peer.AddrInfo, changed <-chan struct{}) {
	for _, ai := range bootstrap {
		dctx, cancel := context.WithTimeout(ctx, publicDialTimeout)
		if err := n.host.Connect(dctx, ai); err != nil {
			n.log.Debug("public DHT bootstrap peer unreachable", "peer", ai.ID, "err", err)
		}
		cancel()
	}
	if err := pub.dht.Bootstrap(ctx); err != nil {
		n.log.Debug("public DHT bootstrap", "err", err)
	}
	key := PeerRendezvousKey(n.host.ID())
	due := time.Now() // of the next advertisement
	next := time.NewTimer(0)
	defer next.Stop()
	schedule := func(at time.Time) {
		due = at
		next.Reset(time.Until(at))
	}
	var last time.Time
	retry := publicRetryMin
	for {
		select {
		case <-ctx.Done():
			return
		case <-changed:
			// Sooner, never later: a retry may be due before.
			if soon := last.Add(publicAdvertiseGap); soon.Before(due) {
				schedule(soon)
			}
			continue
		case <-next.C:
		}
		last = time.Now()
		actx, cancel := context.WithTimeout(ctx, time.Minute)
		_, err := pub.disc.Advertise(actx, key)
		cancel()
		if err != nil {
			// Typically: no DHT server in the routing table yet.
			n.log.Debug("advertising in the public DHT", "err", err, "retry_in", retry)
			schedule(time.Now().Add(retry))
			retry = min(2*retry, publicAdvertiseEvery)
			continue
		}
		retry = publicRetryMin
		schedule(time.Now().Add(publicAdvertiseEvery))
	}
}

// findPeer looks p up in the public DHT: by its rendezvous key first (it
// finds nodes behind NATs), then by FindPeer.
func (pub *publicDHT) findPeer(ctx context.Context, p peer.ID) (peer.AddrInfo, error) {
	lctx, cancel := context.WithTimeout(ctx, publicLookupTimeout)
	defer cancel()
	found, err := pub.disc.FindPeers(lctx, PeerRendezvousKey(p))
	if err == nil {
		for ai := range found {
			// Servers accept provider records only from the provider
			// itself, and Noise checks the peer ID on connecting.
			if ai.ID == p && len(ai.Addrs) > 0 {
				return ai, nil
			}
		}
	}
	ai, err := pub.dht.FindPeer(ctx, p)
	if err != nil {
		return peer.AddrInfo{}, fmt.Errorf("public DHT: %w", err)
	}
	return ai, nil
}
