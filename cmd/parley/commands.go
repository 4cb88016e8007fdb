package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"

	"github.com/spf13/cobra"

	"github.com/parley-im/parley"
	"github.com/parley-im/parley/gui/client"
)

// The commands below are thin: each calls one API endpoint through
// gui/client and prints the answer, as JSON with --json or as text.

// viewCmd completes cmd as a command that fetches one thing from the API
// and prints it as text, or as the API's JSON with --json.
func viewCmd[T any](g *globals, cmd *cobra.Command,
	fetch func(ctx context.Context, c *client.Client, args []string) (T, error),
	text func(w io.Writer, v T) error,
) *cobra.Command {
	var asJSON bool
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		return g.call(cmd, func(ctx context.Context, c *client.Client) error {
			v, err := fetch(ctx, c, args)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), v)
			}
			return text(cmd.OutOrStdout(), v)
		})
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	return cmd
}

func newIDCmd(g *globals) *cobra.Command {
	var long bool
	cmd := viewCmd(g, &cobra.Command{
		Use:   "id",
		Short: "Show your name, peer ID, addresses, invite code and fingerprint",
		Args:  usageArgs(cobra.NoArgs),
	}, func(ctx context.Context, c *client.Client, _ []string) (client.SelfView, error) {
		return c.Self(ctx)
	}, func(w io.Writer, s client.SelfView) error { return printSelf(w, s, long) })
	cmd.Flags().BoolVar(&long, "long", false, "also show the long invite code, which works while your node is offline")
	return cmd
}

// newInviteCmd prints only the invite code, for scripts:
// parley contact add "$(parley invite --data ALICE)".
func newInviteCmd(g *globals) *cobra.Command {
	var long, reset bool
	cmd := &cobra.Command{
		Use:   "invite",
		Short: "Print your invite code, the one line a contact needs to add you",
		Long: `Print your invite code, the one line a contact needs to add you.

The code is short (under 120 characters; also a parley: link, and the QR code
the GUI shows): the contact's node fetches your contact card from yours, so
yours must be running when they add it. --long prints the long code instead,
which carries the whole card and works while your node is offline.
--reset makes a new short code: earlier ones stop working (contacts already
added stay).`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				self, err := c.Self(ctx)
				if reset {
					self, err = c.ResetInvite(ctx)
				}
				if err != nil {
					return err
				}
				code := self.Invite
				if long {
					code = self.InviteLong
				}
				if _, err = fmt.Fprintln(cmd.OutOrStdout(), code); err != nil {
					return err
				}
				if reset {
					_, err = fmt.Fprintln(cmd.ErrOrStderr(), "A new invite code: earlier short codes no longer add you.")
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&long, "long", false, "print the long code, which carries your contact card and works while your node is offline")
	cmd.Flags().BoolVar(&reset, "reset", false, "make a new short code; earlier short codes stop working")
	// A long code has no secret to reset.
	cmd.MarkFlagsMutuallyExclusive("long", "reset")
	return cmd
}

// newOpenCmd prints a fresh one-time login URL for the running node and,
// unless told not to, opens it in the desktop's browser.
func newOpenCmd(g *globals) *cobra.Command {
	var noBrowser bool
	cmd := &cobra.Command{
		Use:   "open",
		Short: "Log a browser in to your running node (prints a one-time URL)",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				u, err := c.NewLoginURL(ctx)
				if err != nil {
					return err
				}
				if _, err := fmt.Fprintln(cmd.OutOrStdout(), u); err != nil {
					return err
				}
				if !noBrowser {
					openBrowser(u)
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&noBrowser, "no-browser", false, "only print the URL")
	return cmd
}

// newLogoutCmd logs every browser out of the running node. A single
// browser logs out from its own Settings: the command line has no session
// of its own to end, hence --all is required.
func newLogoutCmd(g *globals) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "logout --all",
		Short: "Log every browser out of your running node",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !all {
				return usageError{errors.New("logout needs --all: it logs out every browser (one browser logs out in its own Settings)")}
			}
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				if err := c.LogoutAll(ctx); err != nil {
					return err
				}
				_, err := fmt.Fprintln(cmd.OutOrStdout(), "Every browser is logged out; `parley open` logs one in again.")
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "log out every browser")
	return cmd
}

// openBrowser hands the URL to the desktop's opener where there is one; a
// machine without a desktop just has the printed URL.
func openBrowser(u string) {
	for _, opener := range []string{"xdg-open", "open"} {
		if path, err := exec.LookPath(opener); err == nil {
			if err := exec.Command(path, u).Start(); err == nil {
				return
			}
		}
	}
}

func newContactCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "contact",
		Short: "Add, list and verify contacts",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			return usageError{errors.New("contact needs a subcommand: add, list, verify or remove-pending")}
		},
	}
	var name string
	add := &cobra.Command{
		Use:   "add INVITE",
		Short: "Add a contact from their invite code",
		Long: `Add a contact from their invite code. A short code (parley invite) carries
no card: Parley fetches it from their node. If their node is not reachable
now, the code is kept as a pending contact and Parley adds them once it is
(parley contact list shows pending ones; remove-pending cancels one).`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				cv, err := c.AddContact(ctx, args[0], name)
				if err != nil {
					return err
				}
				if cv.State == parley.ContactPending {
					return printPending(cmd.OutOrStdout(), cv)
				}
				return printAdded(cmd.OutOrStdout(), "Added", cv)
			})
		},
	}
	add.Flags().StringVar(&name, "name", "", "name to know them by (default: the name on their invite)")

	list := viewCmd(g, &cobra.Command{
		Use:   "list",
		Short: "List your contacts, and those pending (short codes added while their owner was offline)",
		Args:  usageArgs(cobra.NoArgs),
	}, func(ctx context.Context, c *client.Client, _ []string) (contactList, error) {
		return fetchContactList(ctx, c)
	}, printContactList)
	var undo bool
	verify := &cobra.Command{
		Use:   "verify CONTACT",
		Short: "Mark a contact verified once your safety numbers match (--undo: unmark)",
		Long: `Compare the safety number (parley contact list) with the contact in person
or on a call; when both of you see the same number, mark them verified.
If their key changes later, Parley clears the mark and contact list shows
"keys changed!": compare again before you trust them.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				cv, err := c.SetVerified(ctx, args[0], !undo)
				if err != nil {
					return err
				}
				w := cmd.OutOrStdout()
				if undo {
					_, err = fmt.Fprintf(w, "%s (%s) is no longer marked verified\n", orDash(cv.Name), cv.PeerID)
					return err
				}
				_, err = fmt.Fprintf(w, "Safety number: %s\n%s (%s) verified\n", orDash(cv.SafetyNumber), orDash(cv.Name), cv.PeerID)
				return err
			})
		},
	}
	verify.Flags().BoolVar(&undo, "undo", false, "unmark the contact as verified")
	cmd.AddCommand(add, list, verify, newContactRemovePendingCmd(g))
	return cmd
}

func newSendCmd(g *globals) *cobra.Command {
	return viewCmd(g, &cobra.Command{
		Use:   "send CONTACT TEXT...",
		Short: "Send a message to a contact (by name or peer ID)",
		Long: `Send a message to a contact, given by name or peer ID. The words after
the contact are joined with spaces, so quoting the text is optional.
The message is queued at once and delivered when the contact is reachable;
parley prints its status and ID (--json: the whole message).`,
		Args: usageArgs(cobra.MinimumNArgs(2)),
	}, func(ctx context.Context, c *client.Client, args []string) (client.MessageView, error) {
		return c.Send(ctx, args[0], strings.Join(args[1:], " "))
	}, printSent)
}

func newMessagesCmd(g *globals) *cobra.Command {
	var limit int
	cmd := viewCmd(g, &cobra.Command{
		Use:   "messages CONTACT",
		Short: "Show the conversation with a contact and mark it read",
		// Flags are parsed before arguments are checked.
		Args: usageArgs(cobra.MatchAll(cobra.ExactArgs(1), func(*cobra.Command, []string) error {
			if limit < 0 {
				return errors.New("--limit must be 0 (all) or more")
			}
			return nil
		})),
	}, func(ctx context.Context, c *client.Client, args []string) ([]client.MessageView, error) {
		return c.Messages(ctx, args[0], parley.Page{Limit: limit}, true)
	}, printMessages)
	cmd.Flags().IntVar(&limit, "limit", 50, "show the last N messages; 0 for all")
	return cmd
}

func newRequestsCmd(g *globals) *cobra.Command {
	return viewCmd(g, &cobra.Command{
		Use:   "requests",
		Short: "List people who wrote to you but are not contacts yet",
		Args:  usageArgs(cobra.NoArgs),
	}, func(ctx context.Context, c *client.Client, _ []string) ([]client.ContactView, error) {
		return c.Requests(ctx)
	}, func(w io.Writer, rs []client.ContactView) error {
		return printContacts(w, rs, "No requests.")
	})
}

func newAcceptCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "accept NAME|PEER",
		Short: "Accept a request (by its name or peer ID): the peer becomes a contact",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				cv, err := c.Accept(ctx, args[0])
				if err != nil {
					return err
				}
				return printAdded(cmd.OutOrStdout(), "Accepted", cv)
			})
		},
	}
}

func newPeersCmd(g *globals) *cobra.Command {
	return viewCmd(g, &cobra.Command{
		Use:   "peers",
		Short: "List connected peers",
		Args:  usageArgs(cobra.NoArgs),
	}, func(ctx context.Context, c *client.Client, _ []string) ([]client.PeerView, error) {
		return c.Peers(ctx)
	}, printPeers)
}

func newStatusCmd(g *globals) *cobra.Command {
	return viewCmd(g, &cobra.Command{
		Use:   "status",
		Short: "Show the node's network state: reachability, addresses, connections, DHT",
		Args:  usageArgs(cobra.NoArgs),
	}, func(ctx context.Context, c *client.Client, _ []string) (client.NetworkStatusView, error) {
		return c.Status(ctx)
	}, printStatus)
}

func newConversationsCmd(g *globals) *cobra.Command {
	return viewCmd(g, &cobra.Command{
		Use:   "conversations",
		Short: "List conversations with their unread counts",
		Args:  usageArgs(cobra.NoArgs),
	}, func(ctx context.Context, c *client.Client, _ []string) ([]client.ConversationView, error) {
		return c.Conversations(ctx)
	}, printConversations)
}
