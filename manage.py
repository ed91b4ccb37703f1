#!/usr/bin/env python
from contactpoint.manage import main

if __name__ == "__main__":
    main()
