package files

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/parley-im/parley"
)

// Forget removes every trace of a file whose message was deleted for
// everyone: its transfer stops, its partial data goes, a copy we fetched
// into the downloads folder goes, and its record (name, key, hashes)
// leaves the store. A file we offered is no longer served; the original
// on the user's disk is theirs and stays. An unknown file is no error.
func (s *Service) Forget(id string) error {
	rec, err := s.cfg.Store.File(id)
	if errors.Is(err, parley.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	s.mu.Lock()
	t := s.transfers[rec.ID]
	s.mu.Unlock()
	if t != nil {
		t.stop()
		<-t.done
	}
	if !rec.Outgoing {
		_ = os.Remove(s.partPath(rec.ID))
		if rec.Path != "" && within(s.cfg.Downloads, rec.Path) {
			if err := os.Remove(rec.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return s.cfg.Store.PurgeFile(id)
}

// within reports whether path lies inside dir.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
