// Package migrate runs the app's migrations: JSON files in a folder and Go
// functions registered by the app, applied in the order of their names
// (a unix-seconds prefix keeps that the order they were written in), each
// in one write transaction that also records it in the data folder's
// "_appMigrations" table, so that a failed migration changes nothing and
// is not recorded.
//
// A JSON migration is a file NAME.json of the migrations folder
// (mb_migrations beside the data folder by default):
//
//	{
//	  "up": [
//	    {"op": "upsertCollections", "collections": [{"name": "posts", "fields": [...]}]},
//	    {"op": "createRecord", "collection": "posts", "record": {"title": "Hello"}}
//	  ],
//	  "down": [
//	    {"op": "deleteCollection", "collection": "posts"}
//	  ]
//	}
//
// The operations, run in order:
//
//   - upsertCollections: create or update each definition (the format of
//     `monobase schema export`, matched by id, then name; a field whose id
//     the collection does not have is matched by name), as one import;
//   - deleteCollection: drop the collection "collection" (id or name);
//   - createRecord, updateRecord, deleteRecord: write the record "id" of
//     "collection" with the values of "record", validated as the API does
//     (no hooks or access rules run).
//
// Relations to collections that do not exist are checked when the
// migration ends, so a migration may delete collections that relate to
// each other in any order.
//
// Auto writes one such file for every collection change made on a
// running server (serve --automigrate) and records it as applied there.
package migrate
