package localapi

// RouteTable is the routes table as "METHOD PATH" patterns, for the test
// that holds openapi.json to it.
func RouteTable() []string {
	var out []string
	for _, rt := range (*Server)(nil).routeTable() {
		out = append(out, rt.method+" "+rt.path)
	}
	return out
}
