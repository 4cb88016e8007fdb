package files

import (
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/parley-im/parley"
)

// BenchmarkDirectChunkSize: a file small enough for mailboxes is cut into
// 64 KiB chunks (one mailbox item each, §9.11), and those chunks are what
// a direct transfer carries too. This compares its direct transfer with
// the same file in the chunks a larger file gets (identity.FileChunkSize),
// two services on loopback TCP, from the offer to the verified file:
//
//	go test -run='^$' -bench=DirectChunkSize -count=3 ./node/files/
func BenchmarkDirectChunkSize(b *testing.B) {
	const size = 24 << 20
	for _, c := range []struct {
		name      string
		mailLimit int64
	}{{"mail-64KiB", 25 << 20}, {"direct-default", 0}} {
		b.Run(c.name, func(b *testing.B) {
			alice := newPeer(b, newHost(b), b.TempDir(), nil)
			defer alice.close()
			bob := newPeer(b, newHost(b), b.TempDir(), func() []peer.ID { return []peer.ID{alice.h.ID()} })
			defer bob.close()
			connect(b, bob.h, alice.h)
			path := filepath.Join(alice.dir, "data.bin")
			data := make([]byte, size)
			rand.Read(data)
			if err := os.WriteFile(path, data, 0o600); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(size)
			b.ResetTimer()
			for i := range b.N {
				o, err := Prepare(path, c.mailLimit)
				if err != nil {
					b.Fatal(err)
				}
				msg := parley.EnvelopeID{byte(i), byte(i >> 8)}
				if _, err := alice.svc.Offered(conv, msg, o, path); err != nil {
					b.Fatal(err)
				}
				if err := bob.svc.OnOffer(conv, msg, alice.h.ID(), o); err != nil {
					b.Fatal(err)
				}
				f := waitState(b, bob, FileID(o), parley.FileComplete)
				b.StopTimer()
				if i == 0 {
					b.ReportMetric(float64(size/int64(o.ChunkSize)), "chunks")
				}
				_ = os.Remove(f.Path)
				b.StartTimer()
			}
		})
	}
}
