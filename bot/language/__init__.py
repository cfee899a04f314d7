"""Plain language: how hard a text is to read (bot.language.readability) and the kinder words a partnership has
agreed to use (bot.language.glossary), checked by `surveybot surveys check` and by the tests on every message the
bot sends young people."""
