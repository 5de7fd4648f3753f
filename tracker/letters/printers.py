"""What the printing processes start with, imported once by the process they are forked
from: WeasyPrint with the letters' fonts and stylesheet loaded and a first page laid out,
which costs a fresh process about as much as printing two letters."""

from tracker.letters.pdf import print_letters

print_letters(["<p>Ready: <b>bold</b>, <i>italic</i>, <b><i>both</i></b>.</p>"])
