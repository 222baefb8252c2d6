// Package stacschema validates STAC documents with a real JSON Schema validator
// (github.com/santhosh-tekuri/jsonschema) against the STAC 1.0.0 item, collection and
// catalog schemas and the extension schemas vendored in testdata (see its README),
// without the network: every schema $id is mapped to its vendored file.
package stacschema

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/dlclark/regexp2"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

//go:embed testdata
var files embed.FS

// vendored maps schema URLs to their files in testdata.
var vendored = map[string]string{
	"https://schemas.stacspec.org/v1.0.0/item-spec/json-schema/item.json":             "stac/v1.0.0/item.json",
	"https://schemas.stacspec.org/v1.0.0/item-spec/json-schema/basics.json":           "stac/v1.0.0/basics.json",
	"https://schemas.stacspec.org/v1.0.0/item-spec/json-schema/datetime.json":         "stac/v1.0.0/datetime.json",
	"https://schemas.stacspec.org/v1.0.0/item-spec/json-schema/instrument.json":       "stac/v1.0.0/instrument.json",
	"https://schemas.stacspec.org/v1.0.0/item-spec/json-schema/licensing.json":        "stac/v1.0.0/licensing.json",
	"https://schemas.stacspec.org/v1.0.0/item-spec/json-schema/provider.json":         "stac/v1.0.0/provider.json",
	"https://schemas.stacspec.org/v1.0.0/catalog-spec/json-schema/catalog.json":       "stac/v1.0.0/catalog.json",
	"https://schemas.stacspec.org/v1.0.0/collection-spec/json-schema/collection.json": "stac/v1.0.0/collection.json",
	"https://geojson.org/schema/Feature.json":                                         "geojson/Feature.json",
	"https://geojson.org/schema/Geometry.json":                                        "geojson/Geometry.json",
	Raster:         "extensions/raster/v1.0.0/schema.json",
	File:           "extensions/file/v2.1.0/schema.json",
	Classification: "extensions/classification/v1.0.0/schema.json",
}

// The extension schemas vendored.
const (
	Raster         = "https://stac-extensions.github.io/raster/v1.0.0/schema.json"
	File           = "https://stac-extensions.github.io/file/v2.1.0/schema.json"
	Classification = "https://stac-extensions.github.io/classification/v1.0.0/schema.json"
)

// Unvalidated are extensions a document may declare whose schemas are not vendored, and
// why: they are left out of the validation.
var Unvalidated = map[string]string{
	"https://stac-extensions.github.io/projection/v1.1.0/schema.json": "its schema refers to the PROJJSON schema, which is not vendored",
}

var core = map[string]string{
	"Feature":    "https://schemas.stacspec.org/v1.0.0/item-spec/json-schema/item.json",
	"Collection": "https://schemas.stacspec.org/v1.0.0/collection-spec/json-schema/collection.json",
	"Catalog":    "https://schemas.stacspec.org/v1.0.0/catalog-spec/json-schema/catalog.json",
}

var compile = sync.OnceValues(func() (map[string]*jsonschema.Schema, error) {
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	// JSON Schema patterns are ECMA 262 regular expressions; the extension schemas use
	// look-ahead ("^(?!raster:)"), which Go's regexp lacks.
	c.UseRegexpEngine(func(s string) (jsonschema.Regexp, error) {
		re, err := regexp2.Compile(s, regexp2.ECMAScript)
		if err != nil {
			return nil, err
		}
		return ecmaRegexp{re}, nil
	})
	for url, name := range vendored {
		data, err := files.ReadFile("testdata/" + name)
		if err != nil {
			return nil, err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
		if err := c.AddResource(url, doc); err != nil {
			return nil, fmt.Errorf("schema %s: %w", name, err)
		}
	}
	out := map[string]*jsonschema.Schema{}
	for _, url := range append([]string{Raster, File, Classification}, core["Feature"], core["Collection"], core["Catalog"]) {
		s, err := c.Compile(url)
		if err != nil {
			return nil, fmt.Errorf("compile %s: %w", url, err)
		}
		out[url] = s
	}
	return out, nil
})

// Validate checks a STAC item, collection or catalog against the core schema of its type
// and the schema of every extension it declares. An extension that is neither vendored
// nor in Unvalidated is an error.
func Validate(data []byte) error {
	schemas, err := compile()
	if err != nil {
		return err
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("stac document: %w", err)
	}
	var head struct {
		Type       string   `json:"type"`
		Extensions []string `json:"stac_extensions"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return fmt.Errorf("stac document: %w", err)
	}
	url, ok := core[head.Type]
	if !ok {
		return fmt.Errorf("stac document: type %q is not Feature, Collection or Catalog", head.Type)
	}
	if err := schemas[url].Validate(doc); err != nil {
		return fmt.Errorf("stac %s: %w", head.Type, err)
	}
	for _, ext := range head.Extensions {
		if _, skip := Unvalidated[ext]; skip {
			continue
		}
		s, ok := schemas[ext]
		if !ok {
			return fmt.Errorf("stac %s: extension %s: no vendored schema", head.Type, ext)
		}
		if err := s.Validate(doc); err != nil {
			return fmt.Errorf("stac %s: extension %s: %w", head.Type, ext, err)
		}
	}
	return nil
}

// ecmaRegexp is a jsonschema.Regexp of regexp2 in ECMAScript mode.
type ecmaRegexp struct{ re *regexp2.Regexp }

func (r ecmaRegexp) MatchString(s string) bool {
	ok, err := r.re.MatchString(s)
	return err == nil && ok
}

func (r ecmaRegexp) String() string { return r.re.String() }
