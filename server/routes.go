package server

import (
	"net/http"
	"path"
	"strings"

	"github.com/changewatch/changewatch/web"
)

// apiRoutes is the API: every route here is in the OpenAPI document.
func (s *Server) apiRoutes() []route {
	return []route{
		{method: "GET", pattern: "/api/v1/{$}", summary: "landing page (OGC API)", handler: s.landing},
		{method: "GET", pattern: "/api/v1/openapi.json", summary: "this OpenAPI document", handler: s.openapi},
		{method: "GET", pattern: "/api/v1/conformance", summary: "OGC API conformance classes", handler: s.conformance},
		{method: "GET", pattern: "/api/v1/aois", summary: "list the AOIs (?geometry=true adds outlines)", handler: s.listAOIs},
		{method: "POST", pattern: "/api/v1/aois", staff: true, summary: "upload an AOI (GeoJSON, validated as detect does; properties.embargo_months marks it sensitive)", handler: s.uploadAOI, body: "application/geo+json"},
		{method: "GET", pattern: "/api/v1/aois/{id}", summary: "one AOI", handler: s.getAOI},
		{method: "PUT", pattern: "/api/v1/aois/{id}/watch", staff: true, summary: "put the AOI on the monthly watch list", handler: s.setWatch},
		{method: "DELETE", pattern: "/api/v1/aois/{id}/watch", staff: true, summary: "take the AOI off the monthly watch list", handler: s.setWatch},
		{method: "PUT", pattern: "/api/v1/aois/{id}/embargo", staff: true, summary: "mark the AOI sensitive for N months ({\"months\": N}; 0 lifts it)", handler: s.setEmbargo, body: "application/json"},
		{method: "GET", pattern: "/api/v1/aois/{id}/runs", summary: "published runs, newest first, with counts and hectares by class", handler: s.listRuns},
		{method: "GET", pattern: "/api/v1/aois/{id}/runs/{run}", summary: "one run", handler: s.getRun},
		{method: "GET", pattern: "/api/v1/aois/{id}/runs/{run}/files/{name}", summary: "a run's file: a redirect to a short-lived presigned URL (?redirect=false: the URL as JSON), or the file with range requests", handler: s.getFile},
		{method: "GET", pattern: "/api/v1/aois/{id}/runs/{run}/tiles/{layer}/{z}/{x}/{y}", summary: "a 256 px map tile (EPSG:3857) of the before or after composite or the change classes", handler: s.getTile},
		{method: "GET", pattern: "/api/v1/aois/{id}/runs/{run}/chips/{layer}", summary: "the before.png or after.png composite over ?bbox=minlon,minlat,maxlon,maxlat (at most 256 px)", handler: s.getChip},
		{method: "GET", pattern: "/api/v1/aois/{id}/files/{name}", summary: "the AOI's incident ledger exports (incidents.fgb, .gpkg, .geojson, .qml, incident_history.csv)", handler: s.getAOIFile},
		{method: "POST", pattern: "/api/v1/requests", staff: true, summary: "submit an AOI (aoi_id or inline aoi) with periods and options; the same request twice is one task", handler: s.submit, body: "application/json"},
		{method: "GET", pattern: "/api/v1/requests", staff: true, summary: "detection tasks of every queue and state (?aoi= one AOI)", handler: s.listRequests},
		{method: "GET", pattern: "/api/v1/requests/{task}", staff: true, summary: "follow a task: state, stage, percent, summary, failure reason", handler: s.getRequest},
		{method: "GET", pattern: "/api/v1/collections", summary: "incident collections, one per AOI (OGC API - Features)", handler: s.collections},
		{method: "GET", pattern: "/api/v1/collections/{id}", summary: "one AOI's incident collection", handler: s.collection},
		{method: "GET", pattern: "/api/v1/collections/{id}/items", summary: "incidents as GeoJSON: bbox, datetime (first_seen), status, class, limit, offset; next links", handler: s.items},
		{method: "GET", pattern: "/api/v1/collections/{id}/items/{incident}", summary: "one incident", handler: s.item},
		{method: "GET", pattern: "/api/v1/incidents", summary: "incidents of every AOI (?aoi=a,b), same filters as items", handler: s.items},
		{method: "POST", pattern: "/api/v1/collections/{id}/items/{incident}/verdicts", staff: true, summary: "review an incident: confirmed, or rejected with a reason; a comment", handler: s.review, body: "application/json"},
		{method: "GET", pattern: "/api/v1/me", summary: "who the token belongs to and its role", handler: s.me},
	}
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	p := principal(r.Context())
	return writeJSON(w, http.StatusOK, map[string]any{"name": p.Name, "role": p.Role, "staff": p.Staff(), "basemap": s.cfg.Basemap})
}

// page serves the web front end (package web's built files): the map at /, the jobs page
// at /jobs (staff), assets under /assets/.
func (s *Server) page(w http.ResponseWriter, r *http.Request) error {
	p := strings.TrimPrefix(path.Clean("/"+r.PathValue("path")), "/")
	switch p {
	case "", "index.html":
		p = "index.html"
	case "jobs", "jobs.html":
		if !principal(r.Context()).Staff() {
			return errorf(http.StatusForbidden, "the jobs page is for staff")
		}
		p = "jobs.html"
	}
	if !web.Built() {
		return errorf(http.StatusServiceUnavailable, "the front end is not built: run scripts/setup.sh (npm run build in web/)")
	}
	if strings.HasSuffix(p, ".html") {
		img := "'self' data: blob:"
		if o := s.basemapOrigin(); o != "" {
			img += " " + o
		}
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src "+img+"; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'")
		w.Header().Set("Cache-Control", "no-store")
	}
	http.ServeFileFS(w, r, web.Dist(), p)
	return nil
}
