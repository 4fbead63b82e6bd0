-- The example app's path rules (issue #24), seeded by scripts/dev.sh into a
-- new local database only: its home page is public, its admin page needs the
-- admin role, its payments page a Duo approval from the last 10 minutes;
-- every other path needs a signed-in user. The console's policies tab shows
-- and edits them. (The sign-in rules stay empty: each account's own setting.)
UPDATE policies
   SET version = version + 1,
       document = '{"rules":[],"remember_days":0,"access":[{"name":"Home page","methods":["GET","HEAD"],"path":"/","access":{"kind":"public"}},{"name":"Admin page","path":"/admin","access":{"kind":"role","role":"admin"}},{"name":"Payments","path":"/payments","access":{"kind":"fresh_duo","minutes":10}}]}',
       updated_at = unixepoch(),
       updated_by = 'the demo seed'
 WHERE id = 1;
