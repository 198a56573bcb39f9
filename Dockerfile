# Image for web, worker and beat (docker-compose.yml). Python 3.11; the runtime lock alone (every package
# pinned and hashed), never the dev requirements: tests/production/test_smoke.py proves that set runs.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir --require-hashes -r requirements.txt
COPY . .
RUN DJANGO_ENV=local python manage.py collectstatic --noinput
RUN useradd --system app && chown -R app /app
USER app
EXPOSE 8000
CMD ["gunicorn", "openfactura_app.wsgi", "--config", "gunicorn.conf.py"]
