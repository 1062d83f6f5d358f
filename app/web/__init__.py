"""The public's pages: /verify and /directory/{force}, server-rendered in English and Welsh."""
