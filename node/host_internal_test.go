package node

import (
	"fmt"
	"testing"

	"github.com/libp2p/go-libp2p/core/network"
	ma "github.com/multiformats/go-multiaddr"
)

// The resource manager caps connections per address and per network, and
// leaves loopback alone. It is checked on the manager itself, with the
// remote addresses a transport would hand it: a test on loopback cannot
// show the limits, and this one needs no network namespaces.
func TestResourceManagerLimitsConnectionsPerNetwork(t *testing.T) {
	for _, tc := range []struct {
		name  string
		addr  func(i int) string // the i-th connection's remote address
		limit int                // connections allowed; 0: none refused in 30
	}{
		{"one IPv4 address", func(int) string { return "/ip4/203.0.113.7/tcp/4001" }, 8},
		{"one IPv4 /24", func(i int) string { return fmt.Sprintf("/ip4/198.51.100.%d/tcp/4001", i+1) }, 32},
		{"one IPv6 /64", func(int) string { return "/ip6/2001:db8:1:2::7/tcp/4001" }, 8},
		{"one IPv6 /48", func(i int) string { return fmt.Sprintf("/ip6/2001:db8:1:%x::1/tcp/4001", i<<8) }, 32},
		{"loopback", func(int) string { return "/ip4/127.0.0.1/tcp/4001" }, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rm, err := newResourceManager(nil, false)
			if err != nil {
				t.Fatal(err)
			}
			defer rm.Close()
			opened := 0
			for i := range 30 + 10 {
				scope, err := rm.OpenConnection(network.DirInbound, true, ma.StringCast(tc.addr(i)))
				if err != nil {
					break
				}
				defer scope.Done()
				opened++
			}
			want := tc.limit
			if want == 0 {
				// Past a single address's limit, short of the system's
				// inbound limit (which counts loopback too).
				want, opened = 30, min(opened, 30)
			}
			if opened != want {
				t.Errorf("%d connections taken, want %d", opened, want)
			}
		})
	}
}
