"""Mail hygiene: sender authentication (SPF, DKIM, DMARC, ARC), reputation and
throttling (DNSBL/DNSWL, greylisting, rate limits), spam scoring and antivirus."""
