package frame

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/multiformats/go-varint"
)

// FuzzReader checks Reader against the plain reading of the format
// (go-varint, then io.ReadFull): the same frames, the same place to stop,
// and a buffer never much bigger than the frame it holds (or than the
// small one kept from before).
func FuzzReader(f *testing.F) {
	f.Add(frames(f, "hello", "", "world"))
	f.Add(append(varint.ToUvarint(5000), bytes.Repeat([]byte{7}, 5000)...))
	f.Add(varint.ToUvarint(1 << 30))
	f.Add([]byte{0x80, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 64 << 10
		ref := bufio.NewReader(bytes.NewReader(data))
		r := NewReader(bytes.NewReader(data), limit)
		for {
			got, err := r.ReadFrame()
			n, refErr := varint.ReadUvarint(ref)
			var want []byte
			if refErr == nil && n > limit {
				refErr = ErrTooLarge
			}
			if refErr == nil {
				want = make([]byte, n)
				if _, refErr = io.ReadFull(ref, want); refErr == io.EOF {
					refErr = io.ErrUnexpectedEOF // a frame begun, not the stream's clean end
				}
			}
			if (err == nil) != (refErr == nil) {
				t.Fatalf("Reader: %v; reference: %v", err, refErr)
			}
			if err != nil {
				if errors.Is(refErr, io.EOF) != errors.Is(err, io.EOF) {
					t.Fatalf("Reader: %v; reference: %v", err, refErr)
				}
				return
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("read %x, want %x", got, want)
			}
			if cap(got) > max(keepBuffer, 2*len(got)) {
				t.Fatalf("a %d-byte frame in a %d-byte buffer", len(got), cap(got))
			}
		}
	})
}
