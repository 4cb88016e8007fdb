package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/internal/atomicfile"
)

// settingsFile keeps the user's settings in the data dir.
const settingsFile = "settings.json"

// storedSettings is settings.json. Fields are pointers: absent means "the
// default", so a default that changes later reaches users who never chose.
type storedSettings struct {
	AutoAcceptBytes *int64 `json:"auto_accept_bytes,omitempty"`
}

func loadSettings(dataDir string) (storedSettings, error) {
	var s storedSettings
	b, err := os.ReadFile(filepath.Join(dataDir, settingsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("%w: %s: %w", parley.ErrMalformed, settingsFile, err)
	}
	return s, nil
}

// Settings reports the user's settings.
func (m *Messenger) Settings(ctx context.Context) parley.Settings {
	return parley.Settings{AutoAcceptBytes: max(m.n.files.AutoAccept(), -1), Downloads: m.n.downloads}
}

// SetAutoAccept sets the size up to which files from contacts are fetched
// without asking (0 or -1: never), now and after restarts.
func (m *Messenger) SetAutoAccept(ctx context.Context, limit int64) (parley.Settings, error) {
	if limit < -1 {
		return parley.Settings{}, fmt.Errorf("%w: auto-accept limit %d (want -1 or more)", parley.ErrMalformed, limit)
	}
	if limit == 0 {
		limit = -1
	}
	m.n.settingsMu.Lock()
	defer m.n.settingsMu.Unlock()
	s, err := loadSettings(m.n.dataDir)
	if err != nil {
		return parley.Settings{}, err
	}
	s.AutoAcceptBytes = &limit
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return parley.Settings{}, err
	}
	if err := atomicfile.Write(filepath.Join(m.n.dataDir, settingsFile), b); err != nil {
		return parley.Settings{}, err
	}
	m.n.files.SetAutoAccept(limit)
	return m.Settings(ctx), nil
}
