package localapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/parley-im/parley"
)

// The fake node's files: offers are recorded, not sent; tests move them
// through their states with setFile.

// fakeFiles is the fake node's file state, guarded by fakeNode.mu.
type fakeFiles struct {
	files      []parley.File // newest last
	autoAccept int64
	downloads  string
}

func (f *fakeNode) SendFile(_ context.Context, to, path string) (parley.File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return parley.File{}, err
	}
	if filepath.Base(path) == "boom" {
		return parley.File{}, fmt.Errorf("badger: write /secret/path: disk on fire")
	}
	if !st.Mode().IsRegular() {
		return parley.File{}, fmt.Errorf("%w: %s is not a regular file", parley.ErrMalformed, path)
	}
	conv, err := f.conversationOf(to)
	if err != nil {
		return parley.File{}, err
	}
	sum := sha256.Sum256([]byte(path))
	file := parley.File{
		ID: hex.EncodeToString(sum[:16]), Conversation: conv, Message: parley.NewEnvelopeID([]byte(path)),
		Name: filepath.Base(path), Size: st.Size(), MediaType: "application/octet-stream", From: selfID,
		Outgoing: true, State: parley.FileOffered, Path: path,
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files.files = append(f.files.files, file)
	return file, nil
}

// conversationOf finds a contact or a group as the node's SendFile does.
func (f *fakeNode) conversationOf(to string) (parley.ConversationID, error) {
	if c, err := f.Resolve(context.Background(), to); err == nil {
		return parley.DMConversationID(selfID, c.PeerID), nil
	}
	if g, err := f.findGroup(to); err == nil {
		return g.ID, nil
	}
	return parley.ConversationID{}, fmt.Errorf("%w: no contact or group called %q", parley.ErrUnknownContact, to)
}

// offer records a file offered to us by from, stored at path once
// complete.
func (f *fakeNode) offer(from string, file parley.File) parley.File {
	file.From = from
	file.Conversation = parley.DMConversationID(selfID, from)
	if file.State == "" {
		file.State = parley.FileOffered
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files.files = append(f.files.files, file)
	return file
}

// setFile changes a recorded file.
func (f *fakeNode) setFile(id string, edit func(*parley.File)) parley.File {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.files.files, func(x parley.File) bool { return x.ID == id })
	edit(&f.files.files[i])
	return f.files.files[i]
}

func (f *fakeNode) Files(context.Context) ([]parley.File, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.files.files)
	slices.Reverse(out)
	return out, nil
}

func (f *fakeNode) File(_ context.Context, id string) (parley.File, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range f.files.files {
		if x.ID == id {
			return x, nil
		}
	}
	return parley.File{}, fmt.Errorf("%w: no file %q", parley.ErrNotFound, id)
}

func (f *fakeNode) AcceptFile(ctx context.Context, id string) (parley.File, error) {
	file, err := f.File(ctx, id)
	switch {
	case err != nil:
		return file, err
	case file.Outgoing:
		return file, fmt.Errorf("%w: %s is a file you offered", parley.ErrMalformed, file.Name)
	case file.Size > 1<<40:
		return file, fmt.Errorf("%w: %s needs %d bytes", parley.ErrNoSpace, file.Name, file.Size)
	case file.State != parley.FileOffered:
		return file, nil
	}
	return f.setFile(id, func(x *parley.File) { x.State = parley.FileTransferring }), nil
}

func (f *fakeNode) CancelFile(ctx context.Context, id string) (parley.File, error) {
	if _, err := f.File(ctx, id); err != nil {
		return parley.File{}, err
	}
	return f.setFile(id, func(x *parley.File) { x.State = parley.FileCanceled }), nil
}

func (f *fakeNode) Settings(context.Context) parley.Settings {
	f.mu.Lock()
	defer f.mu.Unlock()
	limit := f.files.autoAccept
	if limit == 0 {
		limit = 25 << 20
	}
	return parley.Settings{AutoAcceptBytes: limit, Downloads: f.files.downloads, PublicDHT: f.public}
}

func (f *fakeNode) SetAutoAccept(ctx context.Context, limit int64) (parley.Settings, error) {
	if limit < -1 {
		return parley.Settings{}, fmt.Errorf("%w: auto-accept limit %d (want -1 or more)", parley.ErrMalformed, limit)
	}
	if limit == 0 {
		limit = -1
	}
	f.mu.Lock()
	f.files.autoAccept = limit
	f.mu.Unlock()
	return f.Settings(ctx), nil
}
