package node

import (
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p/core/network"
	ma "github.com/multiformats/go-multiaddr"
)

func TestTransportOf(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"/ip4/127.0.0.1/tcp/4001", "tcp"},
		{"/ip6/::1/tcp/4001", "tcp"},
		{"/ip4/127.0.0.1/udp/4001/quic-v1", "quic-v1"},
		{"/ip4/127.0.0.1/udp/4001/quic-v1/webtransport", "webtransport"},
		{"/ip4/127.0.0.1/udp/4001/webrtc-direct", "webrtc-direct"},
		{"/ip4/127.0.0.1/tcp/4001/ws", "websocket"},
		{"/dns4/example.com/tcp/443/wss", "websocket"},
		{"/ip4/1.2.3.4/udp/4001/quic-v1/p2p/12D3KooWGzBg6vfbpjsZ6FgmMupYcZkgqSgVv4hwyQpbvXqBQ7U7/p2p-circuit", "relayed"},
		{"/ip4/1.2.3.4/tcp/4001/p2p/12D3KooWGzBg6vfbpjsZ6FgmMupYcZkgqSgVv4hwyQpbvXqBQ7U7/p2p-circuit", "relayed"},
		{"/ip4/127.0.0.1", "unknown"},
	} {
		if got := transportOf(ma.StringCast(tc.addr)); got != tc.want {
			t.Errorf("transportOf(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

func TestRelaysIn(t *testing.T) {
	const relay = "/ip4/1.2.3.4/tcp/4001/p2p/12D3KooWGzBg6vfbpjsZ6FgmMupYcZkgqSgVv4hwyQpbvXqBQ7U7"
	addrs := []ma.Multiaddr{
		ma.StringCast("/ip4/127.0.0.1/tcp/4001"),
		ma.StringCast(relay + "/p2p-circuit"),
		ma.StringCast("/ip4/1.2.3.4/udp/4001/quic-v1/p2p/12D3KooWGzBg6vfbpjsZ6FgmMupYcZkgqSgVv4hwyQpbvXqBQ7U7/p2p-circuit"),
		ma.StringCast(relay + "/p2p-circuit"), // the same relay twice: listed once
	}
	want := []string{relay, "/ip4/1.2.3.4/udp/4001/quic-v1/p2p/12D3KooWGzBg6vfbpjsZ6FgmMupYcZkgqSgVv4hwyQpbvXqBQ7U7"}
	if got := relaysIn(addrs); !slices.Equal(got, want) {
		t.Errorf("relaysIn = %q, want %q", got, want)
	}
	if got := relaysIn(nil); got == nil || len(got) != 0 {
		t.Errorf("relaysIn(nil) = %#v, want an empty list", got)
	}
}

// conn is a connection that has only a remote address.
type conn struct {
	network.Conn
	remote ma.Multiaddr
}

func (c conn) RemoteMultiaddr() ma.Multiaddr { return c.remote }

// Two connections from one address list it once (`parley peers` showed an
// mDNS peer's QUIC address twice).
func TestRemoteAddrsOnce(t *testing.T) {
	quic := ma.StringCast("/ip4/10.0.0.2/udp/4001/quic-v1")
	tcp := ma.StringCast("/ip4/10.0.0.2/tcp/51234")
	got := remoteAddrs([]network.Conn{conn{remote: quic}, conn{remote: tcp}, conn{remote: quic}})
	if want := []string{quic.String(), tcp.String()}; !slices.Equal(got, want) {
		t.Fatalf("remoteAddrs = %q, want %q", got, want)
	}
}
