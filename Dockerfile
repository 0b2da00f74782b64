FROM python:3.11-slim
WORKDIR /app
# Pango for WeasyPrint (the Board pack as PDF)
RUN apt-get update && apt-get install -y --no-install-recommends libpango-1.0-0 \
        libpangoft2-1.0-0 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY domain domain
COPY projections projections
COPY api api
COPY ledger_verifier ledger_verifier
RUN pip install --no-cache-dir .
ENV LEDGER_DATA_DIR=/data
EXPOSE 8000
CMD ["ledger", "serve", "--host", "0.0.0.0", "--port", "8000"]
