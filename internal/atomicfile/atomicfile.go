// Package atomicfile replaces small files so that a crash leaves either the
// old file or the new one, never half of either: the keystore, the API file
// and the remembered listen ports are all written this way.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"runtime"
)

// Write replaces path with data, mode 0600 from the first byte (these files
// hold keys and tokens): a temporary file in the same directory is written
// and synced, renamed into place, and the directory is synced so that the
// rename itself survives a crash.
func Write(path string, data []byte) error {
	return WriteStream(path, func(w io.Writer) error {
		if _, err := w.Write(data); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	})
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // Windows cannot fsync a directory; the rename is all it offers
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
