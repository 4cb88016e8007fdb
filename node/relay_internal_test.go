package node

import (
	"context"
	"slices"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"
)

// AutoRelay gets bootstrap peers first, at most as many as it asks for,
// each once, on a channel that is already closed.
func TestRelayCandidatesFromBootstrap(t *testing.T) {
	var boot []peer.AddrInfo
	for _, s := range []string{bootA, bootB, bootA} {
		ai, err := peer.AddrInfoFromString(s)
		if err != nil {
			t.Fatal(err)
		}
		boot = append(boot, *ai)
	}
	src := &relaySource{bootstrap: boot}
	for _, tc := range []struct {
		num  int
		want []peer.ID
	}{
		{1, []peer.ID{boot[0].ID}},
		{5, []peer.ID{boot[0].ID, boot[1].ID}},
	} {
		var got []peer.ID
		for ai := range src.candidates(context.Background(), tc.num) {
			got = append(got, ai.ID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("num %d: got %v, want %v", tc.num, got, tc.want)
		}
	}
}
