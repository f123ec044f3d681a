// Package openapi builds an OpenAPI 3.1 document from the typed operations
// a server has bound.
//
// Each [Operation] gives a method, a path in OpenAPI form ("/users/{id}")
// and the request and response struct types; [Build] turns them into a
// document: one path item per path, the request's fields as parameters
// (path, query, header, cookie) or as the request body, and the response
// wrapped in the JSON envelope {"code":0,"message":"","data":<res>}. The
// fields follow the binding's rules: the name is the json tag, else the p
// tag, else the field name; the location is an in tag, else the path when
// the name is a path parameter, else the query for GET, HEAD and DELETE,
// else the body. The v rules (package vrule) give the required fields and
// the bounds, enums, patterns and formats; a dc or description tag gives a
// description and a d tag a default.
//
// The document model is swaggest/openapi-go's openapi31, its schemas
// swaggest/jsonschema-go's Schema. Every baton binary links this package
// and is also its own master process, which must stay small: these cost
// about 50 KB at package init. kin-openapi, whose JSON Schema library
// allocates 1.7 MB at init, is the validator of the documents in the tests
// only (its loader and Validate), so no binary links it.
//
// # Files
//
//	build.go   Operation, Build: paths, operations, parameters, bodies,
//	           responses and the envelope
//	schema.go  Go types to schemas, named structs as components
//	rules.go   v rules and the d, dc tags onto a schema
package openapi
