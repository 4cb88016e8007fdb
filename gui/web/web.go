// Package web holds the web app's files, served as they are: plain HTML,
// CSS and ES modules, no build step. index.html is the app's one page,
// static/ its modules, styles and icons, and login.html the page a browser
// without a session gets (an html/template). Package gui/localapi serves
// them.
package web

import "embed"

// FS holds index.html, login.html and static/.
//
//go:embed index.html login.html static
var FS embed.FS
