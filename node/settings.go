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
	// PublicDHT: join the public IPFS DHT at start (as Config.PublicDHT
	// does); default off.
	PublicDHT *bool `json:"public_dht,omitempty"`
	// PassphraseOffered: the GUI offered to set a passphrase (and the user
	// set one or skipped), so it does not offer again.
	PassphraseOffered *bool `json:"passphrase_offered,omitempty"`
	// Mailboxes are the nodes that hold the user's mail while the user is
	// offline (mailboxes.go).
	Mailboxes []storedMailbox `json:"mailboxes,omitempty"`
	// MailboxRevoked: the contacts (peer IDs) whose capability at every
	// mailbox the user revoked (mailbox_revoke.go).
	MailboxRevoked []string `json:"mailbox_revoked,omitempty"`
	// RetiredMailboxes: for each mailbox the user removed (peer ID), the
	// generation it starts at if added again, one past the last it held,
	// so capabilities issued before the removal do not work there again.
	RetiredMailboxes map[string]uint32 `json:"retired_mailboxes,omitempty"`
	// AnnouncedCard is a digest of the card content (name, mailboxes)
	// last sent to contacts (cards.go).
	AnnouncedCard string `json:"announced_card,omitempty"`
	// MailboxService: hold mail for others (mailbox_service.go); default
	// off. Config.MailboxService or MailboxServiceOff override it.
	MailboxService *bool `json:"mailbox_service,omitempty"`
	// MailboxOffersAnswered: for each contact (peer ID) whose offer to
	// hold the user's mail was answered, the HLC of the newest offer
	// answered; that offer and older ones are closed. One entry a contact.
	MailboxOffersAnswered map[string]parley.HLC `json:"mailbox_offers_answered,omitempty"`
	// InviteSecret is the secret our short invite codes carry, base64
	// (invites.go); made on first start, and anew by ResetInvite.
	InviteSecret []byte `json:"invite_secret,omitempty"`
	// TypingIndicators: send and show typing (presence.go); default on.
	TypingIndicators *bool `json:"typing_indicators,omitempty"`
	// LastSeen: share ours and see contacts' (presence.go); default on.
	LastSeen *bool `json:"last_seen,omitempty"`
	// ReadReceipts: send read receipts (group_receipts.go); default on.
	ReadReceipts *bool `json:"read_receipts,omitempty"`
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

func saveSettings(dataDir string, s storedSettings) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(dataDir, settingsFile), b)
}

// Settings reports the user's settings. PublicDHT is whether the node is in
// the public DHT now, by the setting or by Config.PublicDHT.
func (m *Messenger) Settings(ctx context.Context) parley.Settings {
	return parley.Settings{
		AutoAcceptBytes: max(m.node().files.AutoAccept(), -1),
		Downloads:       m.node().downloads,
		PublicDHT:       m.node().pub.Load() != nil,
		// Read without settingsMu: a toggle under way shows either side.
		MailboxService:        m.node().mailbox.Load() != nil,
		MailboxServiceAtStart: m.node().mbAtStart,
		TypingIndicators:      m.node().typingOn.Load(),
		LastSeen:              m.node().lastSeenOn.Load(),
		ReadReceipts:          !m.node().receipts.readOff.Load(),
	}
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
	m.node().settingsMu.Lock()
	defer m.node().settingsMu.Unlock()
	s, err := loadSettings(m.node().dataDir)
	if err != nil {
		return parley.Settings{}, err
	}
	s.AutoAcceptBytes = &limit
	if err := saveSettings(m.node().dataDir, s); err != nil {
		return parley.Settings{}, err
	}
	m.node().files.SetAutoAccept(limit)
	return m.Settings(ctx), nil
}

// SetPublicDHT joins the public IPFS DHT (on) or leaves it, now and after
// restarts. Joining is refused in a private network
// (parley.ErrPrivateNetwork). Leaving returns once lookups and advertising
// there have stopped; our provider record stays on the public servers
// until it expires (48 hours). Config.PublicDHT joins at every start
// whatever is stored here.
func (m *Messenger) SetPublicDHT(ctx context.Context, on bool) (parley.Settings, error) {
	n := m.node()
	if on && n.psk != nil {
		return parley.Settings{}, errPublicDHTPrivate
	}
	n.settingsMu.Lock()
	defer n.settingsMu.Unlock()
	if n.ctx.Err() != nil {
		return parley.Settings{}, errors.New("node: closed")
	}
	s, err := loadSettings(n.dataDir)
	if err != nil {
		return parley.Settings{}, err
	}
	s.PublicDHT = &on
	// The running state and the file agree on return, error or not: join
	// before saving (and leave again if saving fails), leave after.
	if on && n.pub.Load() == nil {
		pub, err := n.startPublicDHT(n.pubBoot)
		if err != nil {
			return parley.Settings{}, err
		}
		if err := saveSettings(n.dataDir, s); err != nil {
			pub.stop()
			return parley.Settings{}, err
		}
		n.pub.Store(pub)
		n.log.Info("joined the public DHT")
		return m.Settings(ctx), nil
	}
	if err := saveSettings(n.dataDir, s); err != nil {
		return parley.Settings{}, err
	}
	if pub := n.pub.Load(); !on && pub != nil {
		n.pub.Store(nil)
		pub.stop()
		n.log.Info("left the public DHT")
	}
	return m.Settings(ctx), nil
}
