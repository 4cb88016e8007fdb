package localapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/parley-im/parley"
)

// fakeFiles is the fake node's file transfers: offers are recorded, not
// sent; tests move them through their states with setFile.
type fakeFiles struct {
	dm     *fakeMessages // contacts a file may go to
	groups *fakeGroups   // groups a file may go to

	mu    sync.Mutex
	files []parley.File // newest last; guarded by mu
}

func (f *fakeFiles) SendFile(_ context.Context, to, path string) (parley.File, error) {
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
	f.files = append(f.files, file)
	return file, nil
}

// conversationOf finds a contact or a group as the node's SendFile does.
func (f *fakeFiles) conversationOf(to string) (parley.ConversationID, error) {
	if c, err := f.dm.Resolve(context.Background(), to); err == nil {
		return parley.DMConversationID(selfID, c.PeerID), nil
	}
	f.groups.mu.Lock()
	defer f.groups.mu.Unlock()
	if g, err := f.groups.findGroup(to); err == nil {
		return g.ID, nil
	}
	return parley.ConversationID{}, fmt.Errorf("%w: no contact or group called %q", parley.ErrUnknownContact, to)
}

// offer records a file offered to us by from, stored at path once
// complete.
func (f *fakeFiles) offer(from string, file parley.File) parley.File {
	file.From = from
	file.Conversation = parley.DMConversationID(selfID, from)
	if file.State == "" {
		file.State = parley.FileOffered
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.files = append(f.files, file)
	return file
}

// setFile changes a recorded file.
func (f *fakeFiles) setFile(id string, edit func(*parley.File)) parley.File {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.files, func(x parley.File) bool { return x.ID == id })
	edit(&f.files[i])
	return f.files[i]
}

func (f *fakeFiles) Files(context.Context) ([]parley.File, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.files)
	slices.Reverse(out)
	return out, nil
}

func (f *fakeFiles) File(_ context.Context, id string) (parley.File, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, x := range f.files {
		if x.ID == id {
			return x, nil
		}
	}
	return parley.File{}, fmt.Errorf("%w: no file %q", parley.ErrNotFound, id)
}

func (f *fakeFiles) AcceptFile(ctx context.Context, id string) (parley.File, error) {
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

func (f *fakeFiles) CancelFile(ctx context.Context, id string) (parley.File, error) {
	if _, err := f.File(ctx, id); err != nil {
		return parley.File{}, err
	}
	return f.setFile(id, func(x *parley.File) { x.State = parley.FileCanceled }), nil
}
