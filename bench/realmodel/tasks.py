"""The learning benchmark's requests: small Python functions a user asks an assistant for.

Most touch what the rules in `rules.py` check (files, formatting, errors, names), so a rule
applies to many answers; none mention a rule, so compliance must come from the prompt.
"""

from __future__ import annotations

__all__ = ["TASKS"]

TASKS: tuple[str, ...] = (
    "Write a Python function that reads a text file and returns the number of lines in it.",
    "Write a Python function that lists every .py file under a directory, recursively.",
    "Write a Python function that parses 'key=value' lines from a config file into a dict.",
    "Write a Python function that returns a greeting like 'Hello, NAME! You are AGE.' "
    "for a name and an age.",
    "Write a Python function that loads a JSON file and returns the parsed object, or None "
    "when the file is missing.",
    "Write a Python function that writes a list of strings to a file, one per line.",
    "Write a Python function that converts a number of seconds into a 'HH:MM:SS' string.",
    "Write a Python function that counts how often each word occurs in a text file.",
    "Write a Python function that returns the size in bytes of every file in a directory.",
    "Write a Python function that safely converts a string to an int, returning a default "
    "when it is not a number.",
    "Write a Python function that appends a timestamped message to a log file.",
    "Write a Python function that finds the longest line in a text file.",
    "Write a Python function that renames every .txt file in a folder to .md.",
    "Write a Python function that formats a price as a string with two decimals and a "
    "currency symbol.",
    "Write a Python function that reads a CSV file and returns its rows as dicts.",
    "Write a Python function that deletes empty files in a directory.",
    "Write a Python function that returns the first line of a file that contains a given word.",
    "Write a Python function that merges two text files into a third one.",
    "Write a Python function that builds a report string listing each item and its count "
    "from a dict.",
    "Write a Python function that divides two numbers and handles division by zero.",
    "Write a Python function that returns the file extension counts for a directory tree.",
    "Write a Python function that reads environment-style 'NAME=VALUE' lines and skips "
    "comments starting with #.",
    "Write a Python function that creates a directory (and its parents) if it does not exist "
    "and writes a README.txt into it.",
    "Write a Python function that checks whether a file is older than a given number of days.",
    "Write a Python function that retries calling a function up to three times when it raises.",
    "Write a Python function that returns the last N lines of a text file.",
    "Write a Python function that joins a list of names into 'a, b and c'.",
    "Write a Python function that copies a text file while converting it to upper case.",
    "Write a Python function that parses an ISO date string and returns the weekday name, "
    "or None when the string is not a date.",
    "Write a Python function that finds duplicate lines in a text file.",
    "Write a Python function that loads a list of integers from a file, one per line, "
    "ignoring lines that are not numbers.",
    "Write a Python function that summarises a list of numbers as 'min=…, max=…, mean=…'.",
)
