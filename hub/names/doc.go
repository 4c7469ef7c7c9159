// Package names owns the display names of sites and diets (docs/DESIGN.md
// §12): what a person reads where the API and the exports' id columns say
// "riviere-salee" or "vegetarien" — "École de Rivière-Salée",
// "Végétarien".
//
// A site's name is the one the office gave it in the dashboard (table
// site_names in hub.db, version 3 of its schema), else the `name:` of the
// sites file (--sites), else its id. A diet's label is the sites file's
// `diets:` entry for its code, else the built-in label (BuiltInDiets:
// standard is "Standard", sans-porc "Sans porc", pai "PAI", …), else the
// code as it is. A name is at most MaxLen characters, without control
// characters; spaces around it are dropped (Clean).
//
// The Store reads hub.db at each call (one small table), so a name the
// office edits is shown at once by every page and export of the hub,
// whichever process wrote it. It records nothing in the audit log: its
// callers (the API) do, with who asked.
package names
