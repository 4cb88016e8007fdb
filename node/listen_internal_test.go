package node

import (
	"slices"
	"testing"
)

func TestListenStateFits(t *testing.T) {
	tcp := []string{"/ip4/127.0.0.1/tcp/0"}
	tcpQUIC := []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}
	saved := listenState{Configured: tcp, Bound: []string{"/ip4/127.0.0.1/tcp/4001"}}
	savedPrivate := saved
	savedPrivate.Private = true
	for _, tc := range []struct {
		name    string
		state   listenState
		listen  []string
		private bool
		want    bool
	}{
		{"same list", saved, tcp, false, true},
		{"same list, private", savedPrivate, tcp, true, true},
		{"other list", saved, tcpQUIC, false, false},
		{"now private", saved, tcp, true, false},
		{"no longer private", savedPrivate, tcp, false, false},
		{"bound list cut short", listenState{Configured: tcpQUIC, Bound: saved.Bound}, tcpQUIC, false, false},
	} {
		if got := tc.state.fits(tc.listen, tc.private); got != tc.want {
			t.Errorf("%s: fits = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestListenAddrs(t *testing.T) {
	for _, tc := range []struct {
		name       string
		configured []string
		private    bool
		want       []string
		wantErr    bool
	}{
		{"default", nil, false, DefaultListen, false},
		{"default, private", nil, true, DefaultPrivateListen, false},
		{"QUIC", []string{"/ip4/127.0.0.1/udp/0/quic-v1"}, false, []string{"/ip4/127.0.0.1/udp/0/quic-v1"}, false},
		{"TCP, private", []string{"/ip4/127.0.0.1/tcp/0"}, true, []string{"/ip4/127.0.0.1/tcp/0"}, false},
		{"QUIC, private", []string{"/ip4/127.0.0.1/tcp/0", "/ip4/127.0.0.1/udp/0/quic-v1"}, true, nil, true},
		{"WebTransport, private", []string{"/ip4/127.0.0.1/udp/0/quic-v1/webtransport"}, true, nil, true},
		{"not a multiaddr, private", []string{"127.0.0.1:4001"}, true, nil, true},
	} {
		got, err := listenAddrs(tc.configured, tc.private)
		if (err != nil) != tc.wantErr || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	for _, a := range DefaultPrivateListen {
		if _, err := listenAddrs([]string{a}, true); err != nil {
			t.Errorf("DefaultPrivateListen holds %s: %v", a, err)
		}
	}
}
