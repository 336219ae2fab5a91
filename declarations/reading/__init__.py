"""Documents read by the machine: the text of an uploaded commercial invoice turned into
its facts (number, date, parties, currency, total, lines), and compared with what the
declaration says.

- `text`: the PDF's words, laid out in lines and in segments separated by wide gaps
  (pdfplumber);
- `numbers`: amounts in either separator style, currencies by code or symbol, dates;
- `invoice`: the facts of one invoice, whatever its layout;
- `comparison`: the declaration against the invoice it cites.

Nothing here writes: the reading is stored by declarations.services, in a Celery task
(declarations.tasks.read_invoice).
"""
