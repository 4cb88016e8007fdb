package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/parley-im/parley/gui/client"
)

// The commands below are thin: each calls one API endpoint through
// gui/client and prints the answer, as JSON with --json or as text.

func newIDCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "id",
		Short: "Show your name, peer ID, addresses, invite code and fingerprint",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				self, err := c.Self(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(cmd.OutOrStdout(), self)
				}
				return printSelf(cmd.OutOrStdout(), self)
			})
		},
	}
	jsonFlag(cmd, &asJSON)
	return cmd
}

// newInviteCmd prints only the invite code, for scripts:
// parley contact add "$(parley invite --data ALICE)".
func newInviteCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "invite",
		Short: "Print your invite code, the one line a contact needs to add you",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				self, err := c.Self(ctx)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), self.Invite)
				return err
			})
		},
	}
}

func newContactCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "contact",
		Short: "Add and list contacts",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error {
			return usageError{errors.New("contact needs a subcommand: add or list")}
		},
	}
	var name string
	add := &cobra.Command{
		Use:   "add INVITE",
		Short: "Add a contact from their invite code",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				cv, err := c.AddContact(ctx, args[0], name)
				if err != nil {
					return err
				}
				return printAdded(cmd.OutOrStdout(), "Added", cv)
			})
		},
	}
	add.Flags().StringVar(&name, "name", "", "name to know them by (default: the name on their invite)")

	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List your contacts",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				cs, err := c.Contacts(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(cmd.OutOrStdout(), cs)
				}
				return printContacts(cmd.OutOrStdout(), cs,
					"No contacts yet. Add one with: parley contact add INVITE")
			})
		},
	}
	jsonFlag(list, &asJSON)
	cmd.AddCommand(add, list)
	return cmd
}

func newSendCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "send CONTACT TEXT...",
		Short: "Send a message to a contact (by name or peer ID)",
		Long: `Send a message to a contact, given by name or peer ID. The words after
the contact are joined with spaces, so quoting the text is optional.
The message is queued at once and delivered when the contact is reachable.`,
		Args: usageArgs(cobra.MinimumNArgs(2)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				m, err := c.Send(ctx, args[0], strings.Join(args[1:], " "))
				if err != nil {
					return err
				}
				return printMessages(cmd.OutOrStdout(), []client.MessageView{m})
			})
		},
	}
}

func newMessagesCmd(g *globals) *cobra.Command {
	var (
		asJSON bool
		limit  int
	)
	cmd := &cobra.Command{
		Use:   "messages CONTACT",
		Short: "Show the conversation with a contact and mark it read",
		Args:  usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 0 {
				return usageError{errors.New("--limit must be 0 (all) or more")}
			}
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				ms, err := c.Messages(ctx, args[0], limit, true)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(cmd.OutOrStdout(), ms)
				}
				return printMessages(cmd.OutOrStdout(), ms)
			})
		},
	}
	jsonFlag(cmd, &asJSON)
	cmd.Flags().IntVar(&limit, "limit", 50, "show the last N messages; 0 for all")
	return cmd
}

func newRequestsCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "requests",
		Short: "List people who wrote to you but are not contacts yet",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				rs, err := c.Requests(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(cmd.OutOrStdout(), rs)
				}
				return printContacts(cmd.OutOrStdout(), rs, "No requests.")
			})
		},
	}
	jsonFlag(cmd, &asJSON)
	return cmd
}

func newAcceptCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "accept PEER",
		Short: "Accept a request: the peer becomes a contact",
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
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "peers",
		Short: "List connected peers",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				ps, err := c.Peers(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(cmd.OutOrStdout(), ps)
				}
				return printPeers(cmd.OutOrStdout(), ps)
			})
		},
	}
	jsonFlag(cmd, &asJSON)
	return cmd
}

func newConversationsCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "conversations",
		Short: "List conversations with their unread counts",
		Args:  usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return g.call(cmd, func(ctx context.Context, c *client.Client) error {
				cs, err := c.Conversations(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					return printJSON(cmd.OutOrStdout(), cs)
				}
				return printConversations(cmd.OutOrStdout(), cs)
			})
		},
	}
	jsonFlag(cmd, &asJSON)
	return cmd
}

func jsonFlag(cmd *cobra.Command, v *bool) {
	cmd.Flags().BoolVar(v, "json", false, "print the API's JSON")
}
