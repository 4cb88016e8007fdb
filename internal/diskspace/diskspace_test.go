package diskspace

import (
	"path/filepath"
	"runtime"
	"testing"
)

func TestFree(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("free space is only told on Linux")
	}
	dir := t.TempDir()
	before, err := Free(dir)
	if err != nil {
		t.Fatal(err)
	}
	if before <= 0 {
		t.Fatalf("Free = %d, want > 0", before)
	}
	if _, err := Free(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("Free of a missing path: no error")
	}
}

func BenchmarkFree(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		if _, err := Free(dir); err != nil {
			b.Fatal(err)
		}
	}
}
