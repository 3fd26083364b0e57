"""Wall display (kiosk): ``/wall?kiosk=1&rotate=20&campaigns=1,2,5&theme=dark``; see ui/wall.py."""

from ui import wall

wall.render()
