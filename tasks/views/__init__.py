"""The HTML pages of projects, tasks, stages, comments, templates, trash and archive.

Thin by design: each view finds its object through a selector scoped to the user (another team's object is a
404), asks accounts.permissions before a write (a viewer's forged POST is a 403), parses a form, calls one
service, and redirects (or re-renders the form with the service's error next to its field). htmx requests
follow the same redirect and swap the page's <main> in place; without JavaScript the same forms post normally.
"""
