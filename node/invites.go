package node

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peerstore"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/identity"
	"github.com/parley-im/parley/node/invite"
)

// Short invite codes (identity.EncodeShortInvite, PROTOCOL.md §3.1): our
// code carries our key, our invite secret and one address; whoever adds it
// reaches us and fetches our signed card over /parley/card/1.0.0
// (node/invite), presenting the secret. The secret lives in settings.json:
// it only keeps our card from people who know no code of ours, so it needs
// no more protection than the data dir's mode, and ResetInvite replaces it
// when codes went where they should not.

// inviteFetchTimeout bounds reaching an inviter and fetching the card, when
// the caller's context sets no earlier deadline. It is below the CLI's 30 s
// per request, so that `parley contact add` prints why it failed rather
// than a timeout of its own.
const inviteFetchTimeout = 20 * time.Second

// loadInviteSecret takes the stored secret, or makes and stores one.
func (n *Node) loadInviteSecret(s storedSettings) error {
	if len(s.InviteSecret) == identity.InviteSecretSize {
		n.inviteSecret.Store(&s.InviteSecret)
		return nil
	}
	_, err := n.newInviteSecret()
	return err
}

// newInviteSecret makes, stores and starts using a new secret.
func (n *Node) newInviteSecret() ([]byte, error) {
	secret := make([]byte, identity.InviteSecretSize)
	rand.Read(secret) // never fails
	n.settingsMu.Lock()
	defer n.settingsMu.Unlock()
	s, err := loadSettings(n.dataDir)
	if err != nil {
		return nil, err
	}
	s.InviteSecret = secret
	if err := saveSettings(n.dataDir, s); err != nil {
		return nil, fmt.Errorf("saving the invite secret: %w", err)
	}
	n.inviteSecret.Store(&secret)
	return secret, nil
}

// currentInviteSecret is the secret card requests must present.
func (n *Node) currentInviteSecret() []byte {
	if p := n.inviteSecret.Load(); p != nil {
		return *p
	}
	return nil
}

// shortInvite is our short code, with the first of our card's addresses
// (most useful first) that is direct and fits, if any.
func (m *Messenger) shortInvite(card identity.Card) string {
	secret := m.node().currentInviteSecret()
	if secret == nil {
		return ""
	}
	code, err := identity.EncodeShortInvite(m.node().id.Key.GetPublic(), secret, directHint(card, identity.ShortInviteFits))
	if err != nil {
		m.node().log.Error("making our short invite code", "err", err)
		return ""
	}
	return code
}

// directHint is the first of card's addresses (most useful first) that is
// direct and fits a code, as fits says; nil if none.
func directHint(card identity.Card, fits func(ma.Multiaddr) bool) ma.Multiaddr {
	for _, a := range card.Addrs {
		if _, err := a.ValueForProtocol(ma.P_CIRCUIT); err == nil {
			continue // relayed: names the relay's peer ID, and is long
		}
		if fits(a) {
			return a
		}
	}
	return nil
}

// ResetInvite makes a new invite secret: short codes given out before stop
// working (their holders are refused our card), long codes and contacts
// already added are not affected. It returns Self with the new code.
func (m *Messenger) ResetInvite(ctx context.Context) (parley.Self, error) {
	if _, err := m.node().newInviteSecret(); err != nil {
		return parley.Self{}, err
	}
	m.node().log.Info("made a new invite code: earlier short codes no longer work")
	return m.Self(), nil
}

// fetchInviteCard reaches the owner of a short invite (its address hint,
// then the addresses we know, then the DHT) and fetches their signed card,
// checked against the code.
func (m *Messenger) fetchInviteCard(ctx context.Context, inv identity.Invite) (identity.Card, error) {
	n := m.node()
	if inv.Hint != nil {
		n.host.Peerstore().AddAddr(inv.PeerID, inv.Hint, peerstore.TempAddrTTL)
	}
	ctx, cancel := context.WithTimeout(ctx, inviteFetchTimeout)
	defer cancel()
	if err := n.connect(ctx, inv.PeerID); err != nil {
		return identity.Card{}, fmt.Errorf("%w: %s is not online or not reachable from here, so their card could not be fetched: %w",
			parley.ErrInviterUnreachable, inv.PeerID, err)
	}
	signed, err := invite.Fetch(ctx, n.host, inv.PeerID, inv.Secret)
	if errors.Is(err, invite.ErrWrongSecret) {
		return identity.Card{}, fmt.Errorf("%w: %w", parley.ErrInvalidInvite, err)
	}
	if err != nil {
		return identity.Card{}, fmt.Errorf("%w: fetching the card of %s: %w", parley.ErrInviterUnreachable, inv.PeerID, err)
	}
	return identity.CheckFetchedCard(inv, signed)
}
