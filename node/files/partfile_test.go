package files

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
)

// Chunks written out of order, whole ones around the page cache where the
// file system allows it and a short last one through it, read back as
// the file; so does the page-cache fallback.
func TestPartFileWritesChunks(t *testing.T) {
	const cs = 64 << 10
	want := make([]byte, 3*cs+1000)
	rand.Read(want)
	for _, direct := range []bool{true, false} {
		path := filepath.Join(t.TempDir(), "x.part")
		p, err := openPart(path)
		if err != nil {
			t.Fatal(err)
		}
		if !direct && p.direct != nil {
			p.direct.Close()
			p.direct = nil
		}
		t.Logf("direct I/O requested: %v, available: %v", direct, p.direct != nil)
		buf := alignedBuffer(cs)
		for _, i := range []int{3, 1, 0, 2} {
			chunk := want[i*cs : min((i+1)*cs, len(want))]
			b := append(buf[:0], chunk...)
			if err := p.writeChunk(b, int64(i*cs)); err != nil {
				t.Fatalf("chunk %d: %v", i, err)
			}
		}
		if err := p.Sync(); err != nil {
			t.Fatal(err)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("direct=%v: the part file differs from what was written (%d bytes, want %d)", direct, len(got), len(want))
		}
	}
}

func TestAlignedBuffer(t *testing.T) {
	for _, n := range []int{4096, 64 << 10, 1 << 20} {
		b := alignedBuffer(n)
		if len(b) != 0 || cap(b) != n || !isAligned(b[:n], 0) {
			t.Fatalf("alignedBuffer(%d): len %d cap %d aligned %v", n, len(b), cap(b), isAligned(b[:n], 0))
		}
	}
	if isAligned(make([]byte, 8192)[1:4097], 0) || isAligned(alignedBuffer(8192)[:8192], 1) {
		t.Fatal("misaligned memory or offset taken as aligned")
	}
}
