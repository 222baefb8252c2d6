package server

import (
	"net/http"
	"regexp"
	"strings"
)

var pathParam = regexp.MustCompile(`\{([a-z]+)(\.\.\.)?\}`)

// openapi serves the OpenAPI 3.0 document of apiRoutes.
func (s *Server) openapi(w http.ResponseWriter, r *http.Request) error {
	paths := map[string]map[string]any{}
	for _, rt := range s.routes {
		p := strings.TrimSuffix(rt.pattern, "{$}")
		op := map[string]any{"summary": rt.summary, "security": []map[string][]string{{"bearer": {}}, {"cookie": {}}}}
		var params []map[string]any
		for _, m := range pathParam.FindAllStringSubmatch(p, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]string{"type": "string"}})
		}
		if params != nil {
			op["parameters"] = params
		}
		resp := map[string]any{"200": map[string]string{"description": "ok"}, "401": map[string]string{"description": "no token or a bad one"}}
		if rt.staff {
			op["x-role"] = "staff"
			resp["403"] = map[string]string{"description": "the route is for staff"}
		} else {
			op["x-role"] = "reader"
		}
		if rt.body != "" {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{rt.body: map[string]any{"schema": map[string]string{"type": "object"}}}}
			resp["422"] = map[string]string{"description": "invalid input: the detail names the field and the problem"}
		}
		op["responses"] = resp
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		paths[p][strings.ToLower(rt.method)] = op
	}
	return writeTyped(w, http.StatusOK, "application/vnd.oai.openapi+json;version=3.0", map[string]any{
		"openapi": "3.0.3",
		"info": map[string]string{"title": "changewatch", "version": "1",
			"description": "Land-cover change from Sentinel-2: AOIs, requests, runs, incidents (OGC API - Features), review. Every route needs a token (Authorization: Bearer); x-role says which role."},
		"servers": []map[string]string{{"url": "/"}},
		"paths":   paths,
		"components": map[string]any{"securitySchemes": map[string]any{
			"bearer": map[string]string{"type": "http", "scheme": "bearer"},
			"cookie": map[string]string{"type": "apiKey", "in": "cookie", "name": sessionCookie},
		}},
	})
}
