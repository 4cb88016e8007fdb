package parleytest

import (
	"testing"

	"github.com/libp2p/go-libp2p"
	dht "github.com/libp2p/go-libp2p-kad-dht"
)

// PublicDHTStandIn starts a one-server stand-in for the public IPFS DHT on
// loopback (go-libp2p-kad-dht with its defaults: the /ipfs prefix, no
// bootstrap peers of its own), stopped when the test ends. It returns the
// server and its address with /p2p/ID. Code paths that join the public
// DHT are tested against it without reaching beyond the machine.
func PublicDHTStandIn(t testing.TB) (*dht.IpfsDHT, string) {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	d, err := dht.New(h, dht.Mode(dht.ModeServer))
	if err != nil {
		h.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.Close()
		h.Close()
	})
	return d, h.Addrs()[0].String() + "/p2p/" + h.ID().String()
}
